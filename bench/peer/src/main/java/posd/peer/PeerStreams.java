package posd.peer;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import posd.peer.Model.*;

/**
 * The Kafka Streams port of posd (bench/peer/README.md). Arguments (--key value):
 * --bootstrap, --application-id, --state-dir, --topic-prefix (activity, position.updated,
 * market-value, margin.updated, activity.dlq get it), --partitions (of activity, for the
 * murmur2 routing check), --business-date, --tuned (2 threads, 1 s commits, record cache).
 */
public final class PeerStreams {
    public static void main(String[] argv) throws Exception {
        Map<String, String> a = Args.parse(argv);
        String prefix = a.getOrDefault("topic-prefix", "");
        boolean tuned = a.containsKey("tuned");
        String activity = prefix + "activity";
        int partitions = Integer.parseInt(a.getOrDefault("partitions", "8"));
        String businessDate = a.getOrDefault("business-date", "2024-03-04");

        Topology t = new Topology();
        t.addSource("activity", Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer(), activity);
        t.addProcessor("keeper", () -> new Keeper(activity, partitions, businessDate), "activity");
        t.addStateStore(store(Keeper.APPLIED, Serdes.Long(), tuned), "keeper");
        t.addStateStore(store(Keeper.POSITIONS, Json.serde(Position.class), tuned), "keeper");
        t.addStateStore(store(Keeper.BALANCES, Json.serde(Balance.class), tuned), "keeper");
        t.addStateStore(store(Keeper.CONCENTRATIONS, Json.serde(Concentration.class), tuned), "keeper");
        t.addStateStore(store(Keeper.PENDING, Json.serde(Pending.class), tuned), "keeper");
        t.addStateStore(store(Keeper.META, Serdes.String(), tuned), "keeper");
        t.addSink(Keeper.POSITION_SINK, prefix + "position.updated", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), "keeper");
        t.addSink(Keeper.MV_SINK, prefix + "market-value", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), "keeper");
        t.addSink(Keeper.MARGIN_SINK, prefix + "margin.updated", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), "keeper");
        t.addSink(Keeper.DLQ_SINK, prefix + "activity.dlq", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), "keeper");

        global(t, Keeper.G_RULES, a.getOrDefault("topic-rules", "refdata.bookkeeping-rules"), Rule.class);
        global(t, Keeper.G_PRODUCTS, a.getOrDefault("topic-products", "refdata.products"), Product.class);
        global(t, Keeper.G_SECURITIES, a.getOrDefault("topic-securities", "refdata.securities"), Security.class);
        global(t, Keeper.G_PRICES, a.getOrDefault("topic-prices", "prices"), Price.class);
        global(t, Keeper.G_MARGIN, a.getOrDefault("topic-margin-rules", "refdata.margin-rules"), MarginRule.class);
        global(t, Keeper.G_FX, a.getOrDefault("topic-fx-rates", "fx-rates"), FxRate.class);

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, a.get("application-id"));
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
        p.put(StreamsConfig.STATE_DIR_CONFIG, a.get("state-dir"));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        if (tuned) {
            p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
            p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
            p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
        }
        KafkaStreams streams = new KafkaStreams(t, p);
        CountDownLatch done = new CountDownLatch(1);
        int[] rc = {0};
        streams.setUncaughtExceptionHandler(e -> {
            System.err.println("peer-streams: fatal: " + e);
            e.printStackTrace();
            rc[0] = 1;
            done.countDown();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            System.err.println("peer-streams: " + java.time.Instant.now() + " state " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) done.countDown();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            done.countDown();
        }));
        streams.start();
        done.await();
        streams.close();
        System.exit(rc[0]);
    }

    private static <V> StoreBuilder<KeyValueStore<String, V>> store(String name, Serde<V> serde, boolean cached) {
        StoreBuilder<KeyValueStore<String, V>> b =
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), serde);
        return cached ? b.withCachingEnabled() : b.withCachingDisabled();
    }

    private static <V> void global(Topology t, String store, String topic, Class<V> type) {
        Serde<V> serde = Json.serde(type);
        t.addGlobalStore(
                Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(store), Serdes.String(), serde).withLoggingDisabled(),
                store + "-source", Serdes.String().deserializer(), serde.deserializer(), topic, store + "-update",
                () -> new Processor<String, V, Void, Void>() {
                    private KeyValueStore<String, V> s;

                    @Override
                    public void init(ProcessorContext<Void, Void> ctx) {
                        s = ctx.getStateStore(store);
                    }

                    @Override
                    public void process(Record<String, V> r) {
                        if (r.key() == null) return;
                        if (r.value() == null) s.delete(r.key()); // a tombstone, or a value that does not decode
                        else s.put(r.key(), r.value());
                    }
                });
    }
}

/** --key value / --flag arguments. */
final class Args {
    static Map<String, String> parse(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + argv[i]);
            String k = argv[i].substring(2);
            if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) m.put(k, argv[++i]);
            else m.put(k, "");
        }
        return m;
    }
}
