!
control
END_OF_DAY
2024-03-04