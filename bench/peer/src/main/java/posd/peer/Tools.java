package posd.peer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The benchmark's helpers, one per subcommand (all print one line of JSON or key=value on stdout):
 *   create-topics --bootstrap B --partitions N --topics a,b,c [--compacted x,y]
 *   load-refdata  --bootstrap B --dir DIR      (data/sample/*.jsonl to the reference topics)
 *   wait-group    --bootstrap B --group G --topic T --timeout-s S
 *   wait-stable   --bootstrap B --group G --timeout-s S  (the group is Stable with partitions assigned)
 *   topic-stats   --bootstrap B --topics a,b   (read_committed: count, key, value, header bytes)
 *   latency       --bootstrap B --input T --output T --expect N --warmup-s S [--timeout-s S]
 */
public final class Tools {
    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) throw new IllegalArgumentException("subcommand needed");
        Map<String, String> a = Args.parse(Arrays.copyOfRange(argv, 1, argv.length));
        switch (argv[0]) {
            case "create-topics" -> createTopics(a);
            case "load-refdata" -> loadRefdata(a);
            case "wait-group" -> waitGroup(a);
            case "wait-stable" -> waitStable(a);
            case "topic-stats" -> topicStats(a);
            case "latency" -> latency(a);
            default -> throw new IllegalArgumentException("unknown subcommand " + argv[0]);
        }
    }

    private static Admin admin(Map<String, String> a) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
        return Admin.create(p);
    }

    private static List<String> list(String s) {
        return s == null || s.isEmpty() ? List.of() : Arrays.asList(s.split(","));
    }

    static void createTopics(Map<String, String> a) throws Exception {
        int partitions = Integer.parseInt(a.getOrDefault("partitions", "8"));
        Set<String> compacted = Set.copyOf(list(a.get("compacted")));
        List<NewTopic> topics = new ArrayList<>();
        for (String t : list(a.get("topics")))
            topics.add(new NewTopic(t, partitions, (short) 1).configs(Map.of("cleanup.policy", "delete")));
        for (String t : compacted)
            topics.add(new NewTopic(t, partitions, (short) 1).configs(Map.of("cleanup.policy", "compact")));
        try (Admin ad = admin(a)) {
            ad.createTopics(topics).all().get();
            // wait for every partition's leader
            List<String> names = topics.stream().map(NewTopic::name).collect(Collectors.toList());
            for (int i = 0; i < 100; i++) {
                try {
                    boolean ok = ad.describeTopics(names).allTopicNames().get().values().stream()
                            .allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
                    if (ok) break;
                } catch (Exception e) {
                    // not yet known
                }
                Thread.sleep(100);
            }
        }
        System.out.println("created " + topics.size() + " topics");
    }

    static void loadRefdata(Map<String, String> a) throws Exception {
        Path dir = Path.of(a.get("dir"));
        String[][] kinds = {
            {"bookkeeping_rules.jsonl", "refdata.bookkeeping-rules"}, {"products.jsonl", "refdata.products"},
            {"securities.jsonl", "refdata.securities"}, {"margin_rules.jsonl", "refdata.margin-rules"},
            {"prices.jsonl", "prices"}, {"fx_rates.jsonl", "fx-rates"}};
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        int n = 0;
        try (KafkaProducer<String, String> pr = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (String[] k : kinds) {
                for (String line : Files.readAllLines(dir.resolve(k[0]))) {
                    if (line.isBlank()) continue;
                    JsonNode o = Json.MAPPER.readTree(line);
                    String key = switch (k[1]) {
                        case "refdata.bookkeeping-rules" -> o.get("maxxKeyCode").asText();
                        case "refdata.products" -> o.get("prodline").asText();
                        case "refdata.margin-rules" -> o.get("nyrsMgnRule").asText() + "|" + o.get("nyrsMgnSeq").asText();
                        case "fx-rates" -> o.get("currency").asText() + "/" + o.get("baseCurrency").asText();
                        default -> o.get("cusip").asText();
                    };
                    pr.send(new ProducerRecord<>(k[1], key, line));
                    n++;
                }
            }
            pr.flush();
        }
        System.out.println("reference records " + n);
    }

    /**
     * Polls the group's committed offsets on T every 100 ms until they reach the log end. Prints
     * JSON: the end, when the first commit was seen and the rate from then on.
     */
    static void waitGroup(Map<String, String> a) throws Exception {
        String group = a.get("group"), topic = a.get("topic");
        double timeout = Double.parseDouble(a.getOrDefault("timeout-s", "1800"));
        long start = System.nanoTime();
        long firstNs = -1, firstCommitted = 0, committed = 0, end;
        try (Admin ad = admin(a)) {
            int parts = ad.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> spec = new HashMap<>();
            for (int i = 0; i < parts; i++) spec.put(new TopicPartition(topic, i), OffsetSpec.latest());
            end = ad.listOffsets(spec).all().get().values().stream().mapToLong(x -> x.offset()).sum();
            boolean timedOut = false;
            while (true) {
                try {
                    Map<TopicPartition, OffsetAndMetadata> c =
                            ad.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                    committed = c.entrySet().stream().filter(e -> e.getKey().topic().equals(topic) && e.getValue() != null)
                            .mapToLong(e -> e.getValue().offset()).sum();
                } catch (Exception e) {
                    // a broker starved of CPU on this shared machine: ask again until the timeout
                    System.err.println("wait-group: " + e.getMessage());
                }
                long now = System.nanoTime();
                if (committed > 0 && firstNs < 0) {
                    firstNs = now;
                    firstCommitted = committed;
                }
                if (committed >= end) break;
                if ((now - start) / 1e9 > timeout) {
                    timedOut = true;
                    break;
                }
                Thread.sleep(100);
            }
            long doneNs = System.nanoTime();
            double fromFirst = firstNs < 0 ? 0 : (doneNs - firstNs) / 1e9;
            double fromStart = (doneNs - start) / 1e9;
            double rate = fromFirst > 0 ? (committed - firstCommitted) / fromFirst : 0;
            System.out.printf("{\"end\":%d,\"committed\":%d,\"timed_out\":%s,\"seconds_from_start\":%.3f,"
                            + "\"seconds_from_first_commit\":%.3f,\"first_committed\":%d,\"records_per_s\":%.1f,"
                            + "\"records_per_s_from_start\":%.1f}%n",
                    end, committed, timedOut, fromStart, fromFirst, firstCommitted, rate,
                    fromStart > 0 ? committed / fromStart : 0);
        }
    }

    static void waitStable(Map<String, String> a) throws Exception {
        String group = a.get("group");
        double timeout = Double.parseDouble(a.getOrDefault("timeout-s", "120"));
        long start = System.nanoTime();
        try (Admin ad = admin(a)) {
            while ((System.nanoTime() - start) / 1e9 < timeout) {
                try {
                    var d = ad.describeConsumerGroups(List.of(group)).all().get().get(group);
                    int assigned = d.members().stream().mapToInt(m -> m.assignment().topicPartitions().size()).sum();
                    if (d.state() == org.apache.kafka.common.ConsumerGroupState.STABLE && assigned > 0) {
                        System.out.printf("{\"stable_after_s\":%.3f,\"members\":%d,\"assigned\":%d}%n",
                                (System.nanoTime() - start) / 1e9, d.members().size(), assigned);
                        return;
                    }
                } catch (Exception e) {
                    // the group is not there yet
                }
                Thread.sleep(200);
            }
        }
        System.out.println("{\"stable_after_s\":-1}");
        System.exit(1);
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, String> a, String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, String topic) {
        return c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
    }

    /** Counts, key, value and header bytes of committed messages per topic, read to the end. */
    static void topicStats(Map<String, String> a) {
        StringBuilder out = new StringBuilder();
        for (String topic : list(a.get("topics"))) {
            long count = 0, keyBytes = 0, valueBytes = 0, headerBytes = 0;
            try (KafkaConsumer<byte[], byte[]> c = consumer(a, "read_committed")) {
                List<TopicPartition> tps = partitions(c, topic);
                c.assign(tps);
                c.seekToBeginning(tps);
                Map<TopicPartition, Long> end = c.endOffsets(tps); // read_committed: the last stable offset
                while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        count++;
                        keyBytes += r.key() == null ? 0 : r.key().length;
                        valueBytes += r.value() == null ? 0 : r.value().length;
                        for (Header h : r.headers())
                            headerBytes += h.key().length() + (h.value() == null ? 0 : h.value().length);
                    }
                }
            }
            out.append(topic).append(' ').append(count).append(' ').append(keyBytes).append(' ').append(valueBytes)
                    .append(' ').append(headerBytes).append('\n');
        }
        System.out.print(out);
    }

    /**
     * Produce -> read_committed position.updated latency: reads the input topic (activityId -> the
     * record's CreateTime, set by the producer when it produced it) and the output topic
     * (read_committed; each activityId of an event -> when this consumer received it). Ends when
     * --expect input records were seen and no output came for --idle-s. Ids produced during the
     * first --warmup-s seconds do not count.
     */
    static void latency(Map<String, String> a) throws Exception {
        long expect = Long.parseLong(a.get("expect"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup-s", "10"));
        double idle = Double.parseDouble(a.getOrDefault("idle-s", "8"));
        double timeout = Double.parseDouble(a.getOrDefault("timeout-s", "900"));
        byte[] needle = "\"activityId\":\"".getBytes(StandardCharsets.UTF_8);
        Map<String, Long> produced = new HashMap<>(), received = new HashMap<>();
        long inputs = 0, firstInputTs = Long.MAX_VALUE, lastOutput = System.currentTimeMillis();
        long start = System.currentTimeMillis();
        String ready = a.get("ready-file");
        try (KafkaConsumer<byte[], byte[]> in = consumer(a, "read_uncommitted");
             KafkaConsumer<byte[], byte[]> out = consumer(a, "read_committed")) {
            List<TopicPartition> ip = partitions(in, a.get("input")), op = partitions(out, a.get("output"));
            in.assign(ip);
            in.seekToBeginning(ip);
            out.assign(op);
            out.seekToBeginning(op);
            for (TopicPartition tp : op) out.position(tp); // resolve positions before the producer starts
            for (TopicPartition tp : ip) in.position(tp);
            if (ready != null) Files.writeString(Path.of(ready), "ready\n");
            while (true) {
                for (ConsumerRecord<byte[], byte[]> r : in.poll(Duration.ofMillis(5))) {
                    inputs++;
                    String id = NullProcessor.activityId(r.value(), needle);
                    if (!id.isEmpty()) produced.putIfAbsent(id, r.timestamp());
                    firstInputTs = Math.min(firstInputTs, r.timestamp());
                }
                var recs = out.poll(Duration.ofMillis(20));
                long now = System.currentTimeMillis();
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    lastOutput = now;
                    for (String id : ids(r.value())) received.putIfAbsent(id, now);
                }
                if (inputs >= expect && now - lastOutput > idle * 1000) break;
                if (now - start > timeout * 1000) break;
            }
        }
        long cutoff = firstInputTs + (long) (warmup * 1000);
        List<Long> lat = new ArrayList<>();
        for (Map.Entry<String, Long> e : received.entrySet()) {
            Long p = produced.get(e.getKey());
            if (p != null && p >= cutoff) lat.add(e.getValue() - p);
        }
        Collections.sort(lat);
        long counted = produced.values().stream().filter(t -> t >= cutoff).count();
        System.out.printf("{\"inputs\":%d,\"ids_after_warmup\":%d,\"matched\":%d,\"p50_ms\":%d,\"p99_ms\":%d,\"max_ms\":%d}%n",
                inputs, counted, lat.size(), pct(lat, 0.50), pct(lat, 0.99), lat.isEmpty() ? -1 : lat.get(lat.size() - 1));
    }

    private static long pct(List<Long> s, double q) {
        if (s.isEmpty()) return -1;
        int i = (int) Math.ceil(q * s.size()) - 1;
        return s.get(Math.max(0, Math.min(s.size() - 1, i)));
    }

    /** The strings of the event's "activityIds" array (a byte scan, not a JSON decode). */
    static List<String> ids(byte[] v) {
        List<String> ids = new ArrayList<>();
        if (v == null) return ids;
        String s = new String(v, StandardCharsets.UTF_8);
        int i = s.indexOf("\"activityIds\":[");
        if (i < 0) return ids;
        int e = s.indexOf(']', i);
        for (String part : s.substring(i + 15, e).split(",")) {
            String t = part.trim();
            if (t.length() >= 2) ids.add(t.substring(1, t.length() - 1));
        }
        return ids;
    }
}
