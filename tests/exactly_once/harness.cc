// eos_harness: one fault scenario of issue 4 against a real Apache Kafka
// broker (tests/broker), with posd as a black box (its binary, started and
// killed as processes), then eos_checker over what read_committed consumers
// see. README.md in this directory says what each scenario does and proves.
//
//   eos_harness --scenario kill9|broker-restart|churn|zombie --posd PATH --checker PATH
//               --broker-script PATH --work DIR [--records N] [--accounts N]
//               [--partitions N] [--phases N] [--seed N]
//
// Steps: start a fresh broker; create posd's topics; produce the generated
// reference data; then, phase by phase, produce the phase's activity, wait
// until posd's group has committed all of it, and (between phases) produce
// the price changes of the phase and wait until every partition has
// committed its re-valuation batch. Faults run on their own thread from the
// first phase until they are all injected. A supervisor restarts any posd
// that exits unasked (crash-only: a fenced zombie or a broker restart ends
// posd with an error, and its restart recovers). At the end: SIGTERM every
// posd, write the schedule file, run the checker, stop the broker.
// Exit code: the checker's, or 3 when the harness itself failed.

#include "codec/decoder.h"
#include "embedded.h"
#include "outputs/routing.h"
#include "posctl/produce.h"
#include "refdata_files.h"
#include "stream/admin.h"
#include "stream/batch_publisher.h"
#include "workload/generator.h"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace posd;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct options {
    std::string scenario;
    std::string posd, checker, broker_script, work;
    std::uint64_t records = 200'000;
    std::size_t accounts = 2'000;
    int partitions = 8;
    int phases = 3;
    std::uint64_t seed = 4;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr, "eos_harness: %s\n", why.c_str());
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        if (i + 1 >= argc) usage("missing value for " + f);
        const std::string v = argv[++i];
        if (f == "--scenario") o.scenario = v;
        else if (f == "--posd") o.posd = v;
        else if (f == "--checker") o.checker = v;
        else if (f == "--broker-script") o.broker_script = v;
        else if (f == "--work") o.work = v;
        else if (f == "--records") o.records = std::stoull(v);
        else if (f == "--accounts") o.accounts = std::stoull(v);
        else if (f == "--partitions") o.partitions = std::stoi(v);
        else if (f == "--phases") o.phases = std::stoi(v);
        else if (f == "--seed") o.seed = std::stoull(v);
        else usage("unknown flag " + f);
    }
    if (o.scenario.empty() || o.posd.empty() || o.checker.empty() || o.broker_script.empty() || o.work.empty())
        usage("--scenario, --posd, --checker, --broker-script and --work are required");
    if (o.phases < 1 || o.partitions < 1) usage("--phases and --partitions must be >= 1");
    return o;
}

std::mutex log_mutex;
const auto started = std::chrono::steady_clock::now();

template <typename... Args>
void say(fmt::format_string<Args...> f, Args&&... args) {
    std::lock_guard lock(log_mutex);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print(stderr, "eos [{:7.1f}s] {}\n", t, fmt::format(f, std::forward<Args>(args)...));
}

int run_command(const std::string& command) {
    const int rc = std::system(command.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    std::string out = s.str();
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

// ---------------------------------------------------------------- the broker

struct broker {
    std::string script;
    fs::path dir;
    std::string bootstrap;

    void start() {
        if (run_command(fmt::format("bash '{}' start '{}' >/dev/null", script, dir.string())) != 0)
            throw std::runtime_error("the broker did not start (see " + (dir / "logs").string() + ")");
        bootstrap = read_file(dir / "bootstrap");
        say("broker up at {}", bootstrap);
    }
    void restart() {
        if (run_command(fmt::format("bash '{}' restart '{}' >/dev/null", script, dir.string())) != 0)
            throw std::runtime_error("the broker did not restart");
    }
    void stop() { run_command(fmt::format("bash '{}' stop '{}' >/dev/null 2>&1", script, dir.string())); }
};

// ---------------------------------------------------------------- posd processes

struct instance {
    int id = 0;
    fs::path state_dir, log;
    pid_t pid = -1;
    bool wanted = false; // the supervisor restarts it when it exits
    int starts = 0;
};

class fleet {
public:
    fleet(std::string posd, std::vector<std::string> common_args, fs::path work, int size)
        : posd_(std::move(posd)), args_(std::move(common_args)) {
        for (int i = 0; i < size; ++i) {
            instance in;
            in.id = i;
            in.state_dir = work / fmt::format("state-{}", i);
            in.log = work / fmt::format("posd-{}.log", i);
            instances_.push_back(in);
        }
    }
    ~fleet() { stop_all(); }

    void start(int i) {
        std::lock_guard lock(mutex_);
        start_locked(instances_.at(static_cast<std::size_t>(i)));
    }
    void start_all() {
        for (int i = 0; i < size(); ++i) start(i);
    }
    int size() const { return static_cast<int>(instances_.size()); }

    // Sends `sig` to instance i; for SIGKILL/SIGTERM waits for the exit.
    // The supervisor does not restart it until start(i).
    void signal(int i, int sig) {
        std::lock_guard lock(mutex_);
        instance& in = instances_.at(static_cast<std::size_t>(i));
        if (in.pid <= 0) return;
        if (sig == SIGKILL || sig == SIGTERM) in.wanted = false;
        ::kill(in.pid, sig);
        if (sig == SIGKILL || sig == SIGTERM) reap(in, sig == SIGTERM ? 30s : 5s);
    }
    void wipe_state(int i) {
        std::lock_guard lock(mutex_);
        fs::remove_all(instances_.at(static_cast<std::size_t>(i)).state_dir);
    }
    bool running(int i) {
        std::lock_guard lock(mutex_);
        return instances_.at(static_cast<std::size_t>(i)).pid > 0;
    }

    // Restarts every wanted instance that exited; returns how many.
    int supervise() {
        std::lock_guard lock(mutex_);
        int restarted = 0;
        for (instance& in : instances_) {
            if (in.pid <= 0) {
                if (in.wanted) {
                    start_locked(in);
                    ++restarted;
                }
                continue;
            }
            int status = 0;
            if (::waitpid(in.pid, &status, WNOHANG) == in.pid) {
                in.pid = -1;
                // Exit code 2 is a configuration posd refuses: restarting
                // cannot help (a stray POSD_* variable in the environment, say).
                if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
                    throw std::runtime_error(
                        fmt::format("posd-{} refused its configuration (exit 2): see {}", in.id, in.log.string()));
                say("posd-{} exited unasked ({}); restarting", in.id, describe(status));
                ++unasked_exits_;
                if (in.wanted) {
                    start_locked(in);
                    ++restarted;
                }
            }
        }
        return restarted;
    }
    int unasked_exits() const { return unasked_exits_; }

    void stop_all() {
        std::lock_guard lock(mutex_);
        for (instance& in : instances_) {
            in.wanted = false;
            if (in.pid > 0) ::kill(in.pid, SIGTERM);
        }
        for (instance& in : instances_)
            if (in.pid > 0) reap(in, 30s);
    }

private:
    static std::string describe(int status) {
        if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
        if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
        return "?";
    }

    void start_locked(instance& in) {
        std::vector<std::string> argv{posd_};
        argv.insert(argv.end(), args_.begin(), args_.end());
        argv.push_back("--state.dir=" + in.state_dir.string());
        argv.push_back(fmt::format("--instance.id=posd-{}", in.id));
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            const int fd = ::open(in.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
                ::close(fd);
            }
            ::execv(cargv[0], cargv.data());
            ::_exit(127);
        }
        in.pid = pid;
        in.wanted = true;
        ++in.starts;
    }

    void reap(instance& in, std::chrono::seconds patience) {
        const auto deadline = std::chrono::steady_clock::now() + patience;
        int status = 0;
        while (::waitpid(in.pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(in.pid, SIGKILL);
                ::waitpid(in.pid, &status, 0);
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
        in.pid = -1;
    }

    std::string posd_;
    std::vector<std::string> args_;
    std::vector<instance> instances_;
    std::mutex mutex_;
    int unasked_exits_ = 0;
};

// ---------------------------------------------------------------- progress

// The group's committed offsets on the activity topic (what posd has
// committed through its transactions), read without joining the group.
class progress {
public:
    progress(const std::map<std::string, std::string>& kafka, int partitions) : partitions_(partitions) {
        auto props = kafka;
        props["group.id"] = "posd";
        props["enable.auto.commit"] = "false";
        auto conf = stream::make_conf(props);
        std::string err;
        consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!consumer_) throw std::runtime_error("progress consumer: " + err);
    }
    ~progress() {
        if (consumer_) consumer_->close();
    }
    // Committed offset and metadata per partition (offset -1 when none);
    // nullopt while the broker cannot answer.
    std::optional<std::vector<stream::committed_offset>> committed() {
        std::vector<stream::committed_offset> out;
        try {
            for (int p = 0; p < partitions_; ++p)
                out.push_back(stream::fetch_committed(*consumer_, "activity", p, 10s).value_or(
                    stream::committed_offset{-1, ""}));
        } catch (const std::exception&) {
            return std::nullopt;
        }
        return out;
    }

private:
    int partitions_;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

// End offsets of every partition of `topic`.
std::vector<std::int64_t> end_offsets(RdKafka::Producer& p, const std::string& topic, int partitions) {
    std::vector<std::int64_t> out;
    for (int i = 0; i < partitions; ++i) {
        std::int64_t low = 0, high = 0;
        if (p.query_watermark_offsets(topic, i, &low, &high, 30'000) != RdKafka::ERR_NO_ERROR)
            throw std::runtime_error(fmt::format("watermarks of {} [{}]", topic, i));
        out.push_back(high);
    }
    return out;
}

std::string join(const std::vector<std::int64_t>& v) {
    std::string out;
    for (auto x : v) out += fmt::format(" {}", x);
    return out;
}

// ---------------------------------------------------------------- faults

struct fault_plan {
    std::atomic<int> injected{0};
    std::atomic<bool> done{false};
};

std::mt19937_64 rng_for(std::uint64_t seed) { return std::mt19937_64(seed * 7919 + 17); }

double uniform(std::mt19937_64& rng, double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Runs the scenario's faults; returns when they are all injected.
void inject_faults(const std::string& scenario, fleet& f, broker& b, fault_plan& plan, std::uint64_t seed) {
    auto rng = rng_for(seed);
    if (scenario == "kill9") {
        // kill -9 at 12 random points (recovery and start-up included).
        for (int k = 0; k < 12; ++k) {
            sleep_s(uniform(rng, 0.5, 4.0));
            say("fault {}: kill -9 posd-0", k + 1);
            f.signal(0, SIGKILL);
            ++plan.injected;
            sleep_s(uniform(rng, 0.0, 1.0));
            f.start(0);
        }
    } else if (scenario == "broker-restart") {
        for (int k = 0; k < 2; ++k) {
            sleep_s(uniform(rng, 3.0, 8.0));
            say("fault {}: restart the broker", k + 1);
            b.restart();
            ++plan.injected;
        }
    } else if (scenario == "churn") {
        // Members leave and join: graceful leave, kill -9, and a replacement
        // with an empty disk that must restore from the changelog.
        for (int k = 0; k < 6; ++k) {
            sleep_s(uniform(rng, 3.0, 7.0));
            const int i = static_cast<int>(rng() % static_cast<std::uint64_t>(f.size()));
            switch (k % 3) {
            case 0:
                say("fault {}: posd-{} leaves (SIGTERM), rejoins after 3 s", k + 1, i);
                f.signal(i, SIGTERM);
                sleep_s(3.0);
                break;
            case 1:
                say("fault {}: kill -9 posd-{}, restart", k + 1, i);
                f.signal(i, SIGKILL);
                break;
            case 2:
                say("fault {}: kill -9 posd-{}, replace it with an empty disk", k + 1, i);
                f.signal(i, SIGKILL);
                f.wipe_state(i);
                break;
            }
            ++plan.injected;
            f.start(i);
        }
    } else if (scenario == "zombie") {
        // Pause a member until its partitions move (session timeout 6 s plus
        // the rebalance), then let it go on: it must be fenced.
        for (int k = 0; k < 2; ++k) {
            sleep_s(uniform(rng, 2.0, 5.0));
            const int i = k % f.size();
            say("fault {}: SIGSTOP posd-{} for 15 s", k + 1, i);
            f.signal(i, SIGSTOP);
            sleep_s(15.0);
            say("fault {}: SIGCONT posd-{}", k + 1, i);
            f.signal(i, SIGCONT);
            ++plan.injected;
        }
    } else {
        throw std::runtime_error("unknown scenario " + scenario);
    }
    plan.done = true;
}

// Waits until `ready(committed)` holds, supervising the fleet; throws after `patience`.
void wait_for(progress& pr, fleet& f, const std::function<bool(const std::vector<stream::committed_offset>&)>& ready,
              std::chrono::seconds patience, const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    auto last_report = std::chrono::steady_clock::now();
    for (;;) {
        f.supervise();
        if (auto c = pr.committed(); c && ready(*c)) return;
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out waiting for " + what);
        if (std::chrono::steady_clock::now() - last_report > 10s) {
            last_report = std::chrono::steady_clock::now();
            if (auto c = pr.committed()) {
                std::int64_t sum = 0;
                for (auto& x : *c) sum += std::max<std::int64_t>(0, x.offset);
                say("waiting for {}: {} records committed", what, sum);
            }
        }
        std::this_thread::sleep_for(200ms);
    }
}

int run(const options& o) {
    const fs::path work = fs::absolute(o.work);
    fs::remove_all(work);
    fs::create_directories(work);
    broker b{o.broker_script, work / "kafka", {}};
    struct stop_broker {
        broker& b;
        ~stop_broker() { b.stop(); }
    } stopper{b};
    b.start();
    const std::map<std::string, std::string> kafka{{"bootstrap.servers", b.bootstrap}};
    const service::topic_names topics;
    const service::reference_topics reference;
    stream::create_topics(kafka, outputs::topic_specs(topics, reference, o.partitions, 1), 60s);

    // The workload and its reference data.
    workload::workload_config cfg;
    cfg.seed = o.seed;
    cfg.account_count = o.accounts;
    cfg.cusip_count = 300;
    // The checker's oracle re-sums an account's positions on every record, so
    // omnibus accounts with hundreds of positions dominate its time: 10%
    // of the records go to them here (30% by default).
    cfg.hot_share_per_mille = 100;
    cfg.end_of_day_every = std::max<std::uint64_t>(1, o.records / 4);
    cfg.price_update_every = 1'000;
    workload::activity_generator gen(cfg);
    posctl::write_reference_files(gen.reference(), (work / "refdata").string());
    const auto loaded = service::produce_reference_dir((work / "refdata").string(), kafka, reference);
    if (!loaded.problems.empty()) throw std::runtime_error("reference data: " + loaded.problems.front());
    auto producer = stream::make_producer(kafka);
    const int price_partitions = o.partitions; // outputs::topic_specs gives every topic the same count
    const std::vector<std::int64_t> prices_initial = end_offsets(*producer, reference.prices, price_partitions);
    say("{} reference records produced", loaded.loaded);

    // posd: one instance, or three for churn and zombies.
    const int size = (o.scenario == "churn" || o.scenario == "zombie") ? 3 : 1;
    const std::string business_date = cfg.start_business_date.to_string();
    fleet f(o.posd,
            {"--kafka.bootstrap.servers=" + b.bootstrap, "--http.port=0", "--log.format=text",
             "--business-date=" + business_date, "--kafka.session.timeout.ms=6000",
             "--kafka.heartbeat.interval.ms=1000"},
            work, size);
    f.start_all();

    progress pr(kafka, o.partitions);
    fault_plan plan;
    std::thread faults;
    std::exception_ptr fault_error;
    struct join_faults {
        std::thread& t;
        ~join_faults() {
            if (t.joinable()) t.join(); // its sleeps are bounded
        }
    } joiner{faults};
    codec::decoder decoder;
    std::ofstream schedule(work / "schedule");
    schedule << fmt::format("partitions {}\nbusiness-date {}\nprices-initial{}\n", o.partitions, business_date,
                            join(prices_initial));

    std::uint64_t produced = 0, generated = 0;
    std::vector<std::int64_t> prices_end = prices_initial;
    for (int phase = 0; phase < o.phases; ++phase) {
        // This phase's records; its price changes wait for the phase's end.
        const std::uint64_t until = o.records * static_cast<std::uint64_t>(phase + 1) / static_cast<std::uint64_t>(o.phases);
        std::map<std::string, std::string> prices; // cusip -> latest price record
        workload::item it;
        while (generated < until) {
            gen.next(it);
            if (it.kind == workload::item_kind::price_update) {
                prices[it.key] = it.value;
                continue;
            }
            ++generated;
            std::vector<std::pair<std::string, std::string>> headers;
            if (!it.content_type.empty()) headers.emplace_back("content-type", it.content_type);
            const model::decoded_record d = decoder.decode(
                it.value, codec::content_type_from_header(it.content_type.empty()
                                                              ? std::nullopt
                                                              : std::optional<std::string_view>(it.content_type)));
            for (std::int32_t p : outputs::activity_partitions(d, o.partitions)) {
                stream::produce_message(*producer, {topics.activity, p, it.key, it.value, headers});
                ++produced;
            }
        }
        if (producer->flush(60'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush of the activity failed");
        const std::vector<std::int64_t> ends = end_offsets(*producer, topics.activity, o.partitions);
        say("phase {}: {} records produced in all, ends{}", phase + 1, produced, join(ends));
        if (phase == 0)
            faults = std::thread([&] {
                try {
                    inject_faults(o.scenario, f, b, plan, o.seed);
                } catch (...) {
                    fault_error = std::current_exception();
                    plan.done = true;
                }
            });
        wait_for(pr, f, [&](const auto& c) {
            for (int p = 0; p < o.partitions; ++p)
                if (c[static_cast<std::size_t>(p)].offset < ends[static_cast<std::size_t>(p)]) return false;
            return true;
        }, 900s, fmt::format("phase {} to be applied", phase + 1));
        say("phase {} applied", phase + 1);

        const bool last = phase + 1 == o.phases;
        if (!last && !prices.empty()) {
            // Every partition commits one re-valuation batch for them: the
            // committed offset stays, its batch id changes.
            const auto before = pr.committed();
            if (!before) throw std::runtime_error("no committed offsets");
            for (const auto& [cusip, value] : prices)
                stream::produce_message(*producer, {reference.prices, -1, cusip, value, {}});
            if (producer->flush(60'000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush of prices failed");
            prices_end = end_offsets(*producer, reference.prices, price_partitions);
            wait_for(pr, f, [&](const auto& c) {
                for (int p = 0; p < o.partitions; ++p)
                    if (c[static_cast<std::size_t>(p)].metadata == (*before)[static_cast<std::size_t>(p)].metadata)
                        return false;
                return true;
            }, 600s, fmt::format("the {} price changes after phase {} to be re-valued", prices.size(), phase + 1));
            say("phase {}: {} price changes re-valued", phase + 1, prices.size());
        }
        schedule << fmt::format("phase{} prices{}\n", join(ends), join(prices_end));
    }
    schedule.close();
    // Faults must all have happened during the run; if the run was faster,
    // keep going until they have, then check everything is still applied.
    if (faults.joinable()) {
        while (!plan.done) {
            f.supervise();
            std::this_thread::sleep_for(200ms);
        }
        faults.join();
    }
    if (fault_error) std::rethrow_exception(fault_error);
    const std::vector<std::int64_t> ends = end_offsets(*producer, topics.activity, o.partitions);
    wait_for(pr, f, [&](const auto& c) {
        for (int p = 0; p < o.partitions; ++p)
            if (c[static_cast<std::size_t>(p)].offset < ends[static_cast<std::size_t>(p)]) return false;
        return true;
    }, 600s, "the end");
    // Let any pending re-valuation finish before stopping (coalescing window).
    std::this_thread::sleep_for(2s);
    f.supervise();
    f.stop_all();
    say("run done: {} records, {} faults, {} unasked posd exits (restarted)", produced, plan.injected.load(),
        f.unasked_exits());

    const int rc = run_command(fmt::format("'{}' --bootstrap-servers {} --schedule '{}' --faults {} --scenario {}",
                                           o.checker, b.bootstrap, (work / "schedule").string(),
                                           plan.injected.load(), o.scenario));
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return run(o);
    } catch (const std::exception& e) {
        say("harness failed: {}", e.what());
        return 3;
    }
}
