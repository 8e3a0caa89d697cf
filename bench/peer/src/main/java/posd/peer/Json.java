package posd.peer;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.math.BigDecimal;
import java.math.RoundingMode;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/** The one ObjectMapper, exact decimals, and a Jackson serde for the stores. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .enable(JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);

    private Json() {}

    /** A serde that maps a POJO to JSON bytes; a value that does not decode reads as null. */
    static <T> Serde<T> serde(Class<T> type) {
        Serializer<T> ser = (topic, v) -> {
            if (v == null) return null;
            try {
                return MAPPER.writeValueAsBytes(v);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        Deserializer<T> de = (topic, b) -> {
            if (b == null) return null;
            try {
                return MAPPER.readValue(b, type);
            } catch (Exception e) {
                return null; // posd: a reference value that does not decode is skipped
            }
        };
        return Serdes.serdeFrom(ser, de);
    }

    // --- decimals, as posd's base::decimal: 9 fraction digits, half away from zero

    static final BigDecimal ZERO = BigDecimal.ZERO;

    static BigDecimal mul9(BigDecimal a, BigDecimal b) {
        return a.multiply(b).setScale(9, RoundingMode.HALF_UP);
    }

    static BigDecimal div9(BigDecimal a, BigDecimal b) {
        return a.divide(b, 9, RoundingMode.HALF_UP);
    }

    static BigDecimal round2(BigDecimal a) {
        return a.setScale(2, RoundingMode.HALF_UP);
    }

    static BigDecimal round0(BigDecimal a) {
        return a.setScale(0, RoundingMode.HALF_UP);
    }

    /** The shortest exact text: "-12.5", "100", "0". */
    static String text(BigDecimal d) {
        if (d == null) return null;
        if (d.signum() == 0) return "0";
        return d.stripTrailingZeros().toPlainString();
    }

    static BigDecimal nz(BigDecimal d) {
        return d == null ? ZERO : d;
    }
}
