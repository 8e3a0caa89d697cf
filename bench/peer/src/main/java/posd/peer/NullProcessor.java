package posd.peer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The null transactional processor: consume activity, and per input record write what posd writes
 * per input record on average (counts and key/value/header sizes per output topic, measured from
 * posd's own outputs in the same run), one transaction per poll with the consumer's group metadata
 * (exactly-once v2). No decoding, no state. Arguments: --bootstrap, --group, --input,
 * --transactional-id, --inputs N (posd's input record count), and per output topic
 * --out TOPIC=COUNT,KEY_BYTES,VALUE_BYTES,HEADER_BYTES (posd's totals; repeat the option as
 * --out, --out2, --out3, --out4).
 */
public final class NullProcessor {
    static final class Output {
        String topic;
        double perInput;
        int keyBytes, valueBytes, headerBytes;
        double owed; // messages owed so far (Bresenham: the totals come out exact)
    }

    public static void main(String[] argv) {
        Map<String, String> a = Args.parse(argv);
        long inputs = Long.parseLong(a.get("inputs"));
        List<Output> outs = new ArrayList<>();
        for (Map.Entry<String, String> e : a.entrySet()) {
            if (!e.getKey().startsWith("out")) continue;
            String[] tv = e.getValue().split("=", 2);
            String[] f = tv[1].split(",");
            Output o = new Output();
            o.topic = tv[0];
            long count = Long.parseLong(f[0]);
            o.perInput = (double) count / inputs;
            o.keyBytes = count == 0 ? 0 : (int) Math.round(Double.parseDouble(f[1]) / count);
            o.valueBytes = count == 0 ? 0 : (int) Math.round(Double.parseDouble(f[2]) / count);
            o.headerBytes = count == 0 ? 0 : (int) Math.round(Double.parseDouble(f[3]) / count);
            outs.add(o);
        }
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("group"));
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
        pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, a.get("transactional-id"));
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
        AtomicBoolean stop = new AtomicBoolean();
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            consumer.wakeup();
            try {
                main.join(10000);
            } catch (InterruptedException ignored) {
            }
        }));
        producer.initTransactions();
        consumer.subscribe(List.of(a.get("input")));
        byte[] needle = "\"activityId\":\"".getBytes(StandardCharsets.UTF_8);
        try {
            while (!stop.get()) {
                ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(100));
                if (recs.isEmpty()) continue;
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    String id = activityId(r.value(), needle);
                    byte[] key = r.key() == null ? new byte[0] : r.key();
                    for (Output o : outs) {
                        o.owed += o.perInput;
                        while (o.owed >= 1) {
                            o.owed -= 1;
                            producer.send(new ProducerRecord<>(o.topic, null, r.timestamp(), pad(key, o.keyBytes),
                                    value(id, o.valueBytes), headers(o.headerBytes)));
                        }
                    }
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
            }
        } catch (WakeupException e) {
            // shutting down
        } finally {
            producer.close(Duration.ofSeconds(5));
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** The input's activityId by a byte search (no JSON decoding), or "". */
    static String activityId(byte[] v, byte[] needle) {
        if (v == null) return "";
        outer:
        for (int i = 0; i + needle.length < v.length; i++) {
            for (int j = 0; j < needle.length; j++)
                if (v[i + j] != needle[j]) continue outer;
            int s = i + needle.length, e = s;
            while (e < v.length && v[e] != '"' && e - s < 128) e++;
            return new String(v, s, e - s, StandardCharsets.UTF_8);
        }
        return "";
    }

    static byte[] pad(byte[] key, int n) {
        if (key.length == n) return key;
        byte[] k = Arrays.copyOf(key, n);
        for (int i = key.length; i < n; i++) k[i] = '|';
        return k;
    }

    /** {"activityIds":["ID"],"pad":"xxx"} of n bytes (at least the ids part). */
    static byte[] value(String id, int n) {
        StringBuilder s = new StringBuilder(n + 64).append("{\"activityIds\":[\"").append(id).append("\"],\"pad\":\"");
        int fill = n - s.length() - 2;
        for (int i = 0; i < fill; i++) s.append('x');
        return s.append("\"}").toString().getBytes(StandardCharsets.UTF_8);
    }

    static RecordHeaders headers(int n) {
        RecordHeaders h = new RecordHeaders();
        if (n > 0) h.add("h", new byte[Math.max(0, n - 1)]);
        return h;
    }
}
