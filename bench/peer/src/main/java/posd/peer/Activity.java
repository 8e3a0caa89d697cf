package posd.peer;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

/** One decoded and validated activity or control record (posd's libs/codec rules, ported). */
final class Activity {
    static final class Reject extends Exception {
        final String reason, field;

        Reject(String reason, String field, String message) {
            super(message, null, false, false);
            this.reason = reason;
            this.field = field == null ? "" : field;
        }
    }

    boolean control;
    String businessDate; // control records
    String activityId, eventTime, maxxKeyCode, firm, ledger, branch, base, subAcctKey = "", acctCategory, rr,
            usCitizenship, nyResident, paper, intracctEligibleType, accountClosedDate, cusip = "", productLine,
            currency, tradeDate, settleDate;
    BigDecimal intracctMinAmt, quantity = Json.ZERO, amount = Json.ZERO, price;
    boolean bondRedeemSw, acctTransferredSw, reverseSplitSw;

    static final int FIELD_BYTES_MAX = 256;
    private static final Pattern DECIMAL = Pattern.compile("-?[0-9]+(\\.[0-9]+)?");
    private static final BigDecimal QTY_MAX = new BigDecimal("1e12"), AMOUNT_MAX = new BigDecimal("1e15"),
            PRICE_MAX = new BigDecimal("1e8");
    private static final LocalDate MIN_DATE = LocalDate.of(1900, 1, 1), MAX_DATE = LocalDate.of(2999, 12, 31);

    String accountKey() {
        return firm + "|" + ledger + "|" + branch + "|" + base;
    }

    String positionKey() {
        return accountKey() + "|" + subAcctKey + "|" + cusip;
    }

    /** The field's text; null when absent, null or "". */
    private static String text(JsonNode o, String name) throws Reject {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return null;
        if (n.isContainerNode()) throw new Reject("MALFORMED", name, "wrong JSON type");
        String s = n.isTextual() ? n.textValue() : n.asText();
        if (s.length() > FIELD_BYTES_MAX) throw new Reject("FIELD_TOO_LONG", name, "field too long");
        return s.isEmpty() ? null : s;
    }

    private static String required(JsonNode o, String name) throws Reject {
        String s = text(o, name);
        if (s == null) throw new Reject("MISSING_FIELD", name, "required field missing");
        return s;
    }

    private static BigDecimal decimal(JsonNode o, String name, BigDecimal max, boolean nonNegative) throws Reject {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return null;
        BigDecimal d;
        if (n.isNumber()) {
            d = n.decimalValue();
        } else {
            String s = text(o, name);
            if (s == null) return null;
            if (!DECIMAL.matcher(s).matches()) throw new Reject("BAD_FIELD", name, "not a decimal");
            d = new BigDecimal(s);
        }
        BigDecimal stripped = d.stripTrailingZeros();
        if (stripped.scale() > 9 || stripped.precision() - stripped.scale() > 18)
            throw new Reject("NUMBER_OUT_OF_RANGE", name, "too many digits");
        if (nonNegative && d.signum() < 0) throw new Reject("BAD_FIELD", name, "negative");
        if (d.abs().compareTo(max) > 0) throw new Reject("NUMBER_OUT_OF_RANGE", name, "out of range");
        return d;
    }

    private static String date(JsonNode o, String name) throws Reject {
        String s = text(o, name);
        if (s == null) return null;
        LocalDate d;
        try {
            d = LocalDate.parse(s); // ISO_LOCAL_DATE, strict
        } catch (DateTimeParseException e) {
            throw new Reject("BAD_FIELD", name, "not a date");
        }
        if (s.length() != 10) throw new Reject("BAD_FIELD", name, "not a date");
        if (d.isBefore(MIN_DATE) || d.isAfter(MAX_DATE)) throw new Reject("DATE_OUT_OF_RANGE", name, "date out of range");
        return s;
    }

    private static boolean sw(JsonNode o, String name) throws Reject {
        String s = text(o, name);
        if (s == null || s.equals("N")) return false;
        if (s.equals("Y")) return true;
        throw new Reject("BAD_FIELD", name, "not Y or N");
    }

    private static boolean noBar(String s) {
        return s == null || s.indexOf('|') < 0;
    }

    static boolean cusipValid(String c) {
        if (c.length() != 9) return false;
        int sum = 0;
        for (int i = 0; i < 9; i++) {
            char ch = c.charAt(i);
            int v;
            if (ch >= '0' && ch <= '9') v = ch - '0';
            else if (ch >= 'A' && ch <= 'Z') v = ch - 'A' + 10;
            else if (ch == '*') v = 36;
            else if (ch == '@') v = 37;
            else if (ch == '#') v = 38;
            else return false;
            if (i == 8) return v <= 9 && (10 - sum % 10) % 10 == v;
            if (i % 2 == 1) v *= 2;
            sum += v / 10 + v % 10;
        }
        return false;
    }

    /** Decodes one JSON record; throws Reject with posd's reason codes. */
    static Activity decode(byte[] value) throws Reject {
        JsonNode o;
        try {
            o = Json.MAPPER.readTree(value);
        } catch (Exception e) {
            throw new Reject("MALFORMED", "", "not valid JSON");
        }
        if (o == null || !o.isObject()) throw new Reject("MALFORMED", "", "not a JSON object");
        Activity a = new Activity();
        String type = text(o, "type");
        if (type != null && !type.equals("activity")) {
            if (!type.equals("control")) throw new Reject("UNKNOWN_RECORD_TYPE", "type", "unknown record type");
            String action = required(o, "action");
            if (!action.equals("END_OF_DAY")) throw new Reject("UNKNOWN_RECORD_TYPE", "action", "unknown control action");
            a.control = true;
            String bd = text(o, "businessDate");
            if (bd == null) throw new Reject("MISSING_FIELD", "businessDate", "required field missing");
            a.businessDate = date(o, "businessDate");
            return a;
        }
        a.activityId = required(o, "activityId");
        a.maxxKeyCode = required(o, "maxxKeyCode");
        a.firm = required(o, "firm");
        a.ledger = required(o, "ledger");
        a.branch = required(o, "branch");
        a.base = required(o, "base");
        if (a.activityId.length() > 128) throw new Reject("FIELD_TOO_LONG", "activityId", "activity id too long");
        a.eventTime = text(o, "eventTime");
        if (a.eventTime != null) checkTime(a.eventTime);
        if (a.firm.length() != 4 || !noBar(a.firm)) throw new Reject("BAD_FIELD", "firm", "firm must be 4 characters");
        if (!noBar(a.ledger)) throw new Reject("BAD_FIELD", "ledger", "contains |");
        if (!noBar(a.branch)) throw new Reject("BAD_FIELD", "branch", "contains |");
        if (!noBar(a.base)) throw new Reject("BAD_FIELD", "base", "contains |");
        String sub = text(o, "subAcctKey");
        if (!noBar(sub)) throw new Reject("BAD_FIELD", "subAcctKey", "contains |");
        a.subAcctKey = sub == null ? "" : sub;
        a.acctCategory = text(o, "acctCategory");
        a.rr = text(o, "rr");
        a.usCitizenship = text(o, "usCitizenship");
        a.nyResident = text(o, "nyResident");
        a.paper = text(o, "paper");
        a.intracctEligibleType = text(o, "intracctEligibleType");
        a.intracctMinAmt = decimal(o, "intracctMinAmt", AMOUNT_MAX, true);
        a.accountClosedDate = date(o, "accountClosedDate");
        String c = text(o, "cusip");
        if (c != null) {
            if (c.length() != 9 || !Character.isDigit(c.charAt(8)) || !c.matches("[0-9A-Z*@#]{9}"))
                throw new Reject("BAD_FIELD", "cusip", "not a CUSIP");
            if (!cusipValid(c)) throw new Reject("BAD_CUSIP_CHECK_DIGIT", "cusip", "check digit does not match");
            a.cusip = c;
        }
        a.productLine = text(o, "productLine");
        BigDecimal q = decimal(o, "quantity", QTY_MAX, false);
        a.quantity = q == null ? Json.ZERO : q;
        BigDecimal am = decimal(o, "amount", AMOUNT_MAX, false);
        a.amount = am == null ? Json.ZERO : am;
        a.price = decimal(o, "price", PRICE_MAX, true);
        a.currency = text(o, "currency");
        if (a.currency != null && !a.currency.matches("[A-Z]{3}")) throw new Reject("BAD_FIELD", "currency", "not a currency code");
        a.tradeDate = date(o, "tradeDate");
        a.settleDate = date(o, "settleDate");
        if (a.tradeDate != null && a.settleDate != null && a.settleDate.compareTo(a.tradeDate) < 0)
            throw new Reject("BAD_FIELD", "settleDate", "settle date before trade date");
        a.bondRedeemSw = sw(o, "bondRedeemSw");
        a.acctTransferredSw = sw(o, "acctTransferredSw");
        a.reverseSplitSw = sw(o, "reverseSplitSw");
        return a;
    }

    private static void checkTime(String s) throws Reject {
        int year;
        if (s.matches("-?[0-9]+")) {
            long ms;
            try {
                ms = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new Reject("NUMBER_OUT_OF_RANGE", "eventTime", "out of range");
            }
            year = java.time.Instant.ofEpochMilli(ms).atOffset(java.time.ZoneOffset.UTC).getYear();
        } else {
            try {
                year = s.length() == 10 ? LocalDate.parse(s).getYear() : OffsetDateTime.parse(s).getYear();
            } catch (DateTimeParseException | ArithmeticException e) {
                throw new Reject("BAD_FIELD", "eventTime", "not a timestamp");
            }
        }
        if (year < 1900 || year > 2999) throw new Reject("DATE_OUT_OF_RANGE", "eventTime", "out of range");
    }
}
