package posd.peer;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.DayOfWeek;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import posd.peer.Model.*;

/**
 * posd's per-record pipeline ported to one Kafka Streams processor: validate, skip duplicates,
 * bookkeeping, position, managed position, market value, concentration, margin, then the three
 * outputs (or a dead letter). One stream task = one activity partition = one set of stores.
 */
final class Keeper implements Processor<byte[], byte[], byte[], byte[]> {
    static final String POSITION_SINK = "position-updated", MV_SINK = "market-value", MARGIN_SINK = "margin-updated",
            DLQ_SINK = "dlq";
    static final String APPLIED = "applied-ids", POSITIONS = "positions", BALANCES = "balances",
            CONCENTRATIONS = "concentrations", PENDING = "pending-settlements", META = "meta";
    static final String G_RULES = "g-bookkeeping-rules", G_PRODUCTS = "g-products", G_SECURITIES = "g-securities",
            G_PRICES = "g-prices", G_MARGIN = "g-margin-rules", G_FX = "g-fx-rates";

    private static final BigDecimal REG_T = new BigDecimal("0.5"), LONG_MAINT = new BigDecimal("0.25"),
            SHORT_PCT = new BigDecimal("0.3"), FIVE = new BigDecimal("5"), TWO_FIFTY = new BigDecimal("2.5"),
            ONE = BigDecimal.ONE;
    private static final int MAX_DAYS_AHEAD = 31;
    private static final java.time.format.DateTimeFormatter TIME =
            java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);

    private final String inputTopic, initialBusinessDate;
    private final int partitions;
    private ProcessorContext<byte[], byte[]> ctx;
    private KeyValueStore<String, Long> applied;
    private KeyValueStore<String, Position> positions;
    private KeyValueStore<String, Balance> balances;
    private KeyValueStore<String, Concentration> concentrations;
    private KeyValueStore<String, Pending> pending;
    private KeyValueStore<String, String> meta;
    private KeyValueStore<String, Rule> rules;
    private KeyValueStore<String, Product> products;
    private KeyValueStore<String, Security> securities;
    private KeyValueStore<String, Price> prices;
    private KeyValueStore<String, MarginRule> marginRules;
    private KeyValueStore<String, FxRate> fxRates;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(2048);

    Keeper(String inputTopic, int partitions, String initialBusinessDate) {
        this.inputTopic = inputTopic;
        this.partitions = partitions;
        this.initialBusinessDate = initialBusinessDate;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        ctx = context;
        applied = context.getStateStore(APPLIED);
        positions = context.getStateStore(POSITIONS);
        balances = context.getStateStore(BALANCES);
        concentrations = context.getStateStore(CONCENTRATIONS);
        pending = context.getStateStore(PENDING);
        meta = context.getStateStore(META);
        rules = context.getStateStore(G_RULES);
        products = context.getStateStore(G_PRODUCTS);
        securities = context.getStateStore(G_SECURITIES);
        prices = context.getStateStore(G_PRICES);
        marginRules = context.getStateStore(G_MARGIN);
        fxRates = context.getStateStore(G_FX);
    }

    private String businessDate() {
        String bd = meta.get("businessDate");
        if (bd == null) {
            bd = initialBusinessDate;
            meta.put("businessDate", bd);
        }
        return bd;
    }

    @Override
    public void process(Record<byte[], byte[]> rec) {
        RecordMetadata md = ctx.recordMetadata().orElseThrow();
        long offset = md.offset();
        int partition = md.partition();
        Activity a;
        try {
            byte[] v = rec.value();
            if (v == null) throw new Activity.Reject("MALFORMED", "", "empty record");
            if (v.length > 65536) throw new Activity.Reject("RECORD_TOO_LARGE", "", "record too large");
            Header ct = rec.headers().lastHeader("content-type");
            if (ct != null && ct.value() != null) {
                String t = new String(ct.value(), StandardCharsets.UTF_8);
                if (!t.isEmpty() && !t.equals("application/json"))
                    throw new Activity.Reject("UNSUPPORTED_CONTENT_TYPE", "", "unsupported content type");
            }
            a = Activity.decode(v);
            if (a.control) {
                endOfDay(a, offset, rec);
                return;
            }
            String key = rec.key() == null ? "" : new String(rec.key(), StandardCharsets.UTF_8);
            if (!key.equals(a.accountKey())) throw new Activity.Reject("KEY_MISMATCH", "", "message key is not the account key");
            int right = Utils.toPositive(Utils.murmur2(rec.key())) % partitions;
            if (right != partition)
                throw new Activity.Reject("WRONG_PARTITION", "", "record belongs to partition " + right);
            if (applied.get(a.activityId) != null) return; // duplicate: skipped, nothing emitted
            apply(a, offset, rec);
        } catch (Activity.Reject r) {
            deadLetter(rec, r, partition, offset);
        }
    }

    // ----------------------------------------------------------------------------------- apply

    private void apply(Activity a, long offset, Record<byte[], byte[]> rec) throws Activity.Reject {
        String bd = businessDate();
        Rule rule = rules.get(a.maxxKeyCode);
        if (rule == null) throw new Activity.Reject("UNKNOWN_KEY_CODE", "maxxKeyCode", "no bookkeeping rule");
        if (a.accountClosedDate != null && a.accountClosedDate.compareTo(bd) <= 0)
            throw new Activity.Reject("ACCOUNT_CLOSED", "accountClosedDate", "account closed");
        boolean hasCusip = !a.cusip.isEmpty();
        Security sec = hasCusip ? securities.get(a.cusip) : null;
        Product product = null;
        if (hasCusip) {
            String pl = a.productLine != null ? a.productLine : (sec != null ? sec.productLine : null);
            product = pl == null ? null : products.get(pl);
            if (product == null) throw new Activity.Reject("UNKNOWN_PRODUCT", "productLine", "no product definition");
            if ("N".equals(product.fractionsAllowedSw) && a.quantity.stripTrailingZeros().scale() > 0)
                throw new Activity.Reject("FRACTIONAL_NOT_ALLOWED", "quantity", "fractional quantity not allowed");
        }
        if (a.intracctEligibleType != null && a.intracctMinAmt != null && a.amount.abs().compareTo(a.intracctMinAmt) < 0)
            throw new Activity.Reject("BELOW_MIN_TRANSFER", "amount", "below the minimum transfer");

        String accountKey = a.accountKey();
        Balance bal = balances.get(accountKey);
        boolean newAccount = bal == null;
        String balanceBefore = newAccount ? "" : signature(bal);
        if (newAccount) {
            bal = new Balance();
            bal.firm = a.firm;
            bal.ledger = a.ledger;
            bal.branch = a.branch;
            bal.base = a.base;
            bal.baseCurrency = "USD";
        }
        String ccy = a.currency == null || a.currency.equals(bal.baseCurrency) ? "" : a.currency;
        BigDecimal rate = null;
        if (!ccy.isEmpty()) {
            FxRate fx = fxRates.get(ccy + "/" + bal.baseCurrency);
            if (fx == null) throw new Activity.Reject("NO_FX_RATE", "currency", "no FX rate into the base currency");
            rate = fx.rate;
        }
        BigDecimal amountBase = ccy.isEmpty() ? a.amount : Json.round2(Json.mul9(a.amount, rate));
        String acctType = a.base.substring(a.base.length() - 1);
        boolean shortAccount = acctType.equals("3");
        boolean marginAccount = acctType.equals("2") || acctType.equals("3");

        String positionKey = a.positionKey();
        Position pos = positions.get(positionKey);
        if (pos == null) {
            pos = new Position();
            pos.firm = a.firm;
            pos.ledger = a.ledger;
            pos.branch = a.branch;
            pos.base = a.base;
            pos.subAcctKey = a.subAcctKey;
            pos.cusip = a.cusip;
        }
        boolean moveTdQty = "Y".equals(rule.updTdQtySw);
        BigDecimal q0 = pos.tdQty;
        BigDecimal q1 = moveTdQty ? q0.add(a.quantity) : q0;
        if (moveTdQty && a.quantity.signum() < 0 && q1.signum() < 0 && !shortAccount)
            throw new Activity.Reject("INSUFFICIENT_POSITION", "quantity", "insufficient position");

        // ---- bookkeeping and position update
        boolean settleNow = a.settleDate == null || a.settleDate.compareTo(bd) <= 0;
        boolean moveSdQty = "Y".equals(rule.updSdQtySw), moveSdBal = "Y".equals(rule.updSdBalSw);
        if (moveTdQty) {
            BigDecimal dq = a.quantity, c = amountBase.negate();
            if (q0.signum() == 0 || q0.signum() == dq.signum()) {
                pos.costBasis = pos.costBasis.add(c);
            } else if (dq.abs().compareTo(q0.abs()) <= 0) {
                pos.costBasis = pos.costBasis.subtract(Json.round2(Json.div9(pos.costBasis.multiply(dq.abs()), q0.abs())));
            } else {
                pos.costBasis = Json.round2(Json.div9(c.multiply(dq.abs().subtract(q0.abs())), dq.abs()));
            }
            pos.tdQty = q1;
        }
        if (moveSdQty && settleNow) pos.sdQty = pos.sdQty.add(a.quantity);
        if ((moveSdQty || moveSdBal) && !settleNow) {
            Pending p = new Pending();
            p.positionKey = positionKey;
            p.accountKey = accountKey;
            p.activityId = a.activityId;
            p.currency = ccy;
            p.sdQty = moveSdQty ? a.quantity : Json.ZERO;
            p.sdBal = moveSdBal ? a.amount : Json.ZERO;
            long seq = Long.parseLong(meta.get("pendingSeq") == null ? "0" : meta.get("pendingSeq")) + 1;
            meta.put("pendingSeq", Long.toString(seq));
            pending.put(a.settleDate + "|" + String.format("%019d", seq), p);
        }
        pos.acctActivityQty = pos.acctActivityQty.add(a.quantity);
        pos.acctActivityAmt = pos.acctActivityAmt.add(amountBase);
        pos.bondRedeemSw = a.bondRedeemSw ? "Y" : "N";
        pos.acctTransferredSw = a.acctTransferredSw ? "Y" : "N";
        pos.reverseSplitSw = a.reverseSplitSw ? "Y" : "N";
        pos.acctType = acctType;
        pos.tdQtyShortSide = pos.tdQty.signum() < 0 ? pos.tdQty.negate() : Json.ZERO;
        pos.version++;

        // ---- account cash
        if ("Y".equals(rule.updTdBalSw) || (moveSdBal && settleNow)) {
            if (ccy.isEmpty()) {
                if ("Y".equals(rule.updTdBalSw)) bal.tdBal = bal.tdBal.add(a.amount);
                if (moveSdBal && settleNow) bal.sdBal = bal.sdBal.add(a.amount);
            } else if (a.amount.signum() != 0) {
                Cash cash = bal.cash.computeIfAbsent(ccy, k -> new Cash());
                if ("Y".equals(rule.updTdBalSw)) cash.tdBal = cash.tdBal.add(a.amount);
                if (moveSdBal && settleNow) cash.sdBal = cash.sdBal.add(a.amount);
            }
        }
        if ("Y".equals(rule.adjSmaSw)) bal.sma = bal.sma.add(amountBase);
        if (a.acctCategory != null) bal.acctCategory = a.acctCategory;
        bal.acctType = acctType;

        // ---- managed position, valuation, concentration
        if (hasCusip) value(pos, q0, sec, product, bal, marginAccount, accountKey);
        positions.put(positionKey, pos);
        evaluate(bal);
        String balanceAfter = signature(bal);
        boolean balanceChanged = !balanceAfter.equals(balanceBefore);
        if (balanceChanged) bal.version++;
        balances.put(accountKey, bal);
        applied.put(a.activityId, offset);

        // ---- outputs
        String now = TIME.format(Instant.now());
        List<String> ids = List.of(a.activityId);
        long[] offsets = {offset};
        emit(POSITION_SINK, positionKey, positionUpdated(pos, positionKey, ids, offsets, a.eventTime, now), rec);
        if (hasCusip) emit(MV_SINK, positionKey, marketValue(pos, positionKey, ids, offsets, now), rec);
        if (balanceChanged) emit(MARGIN_SINK, accountKey, marginUpdated(bal, accountKey, ids, offsets, now), rec);
    }

    /** Joins reference data, values the position and moves the concentration and account sums. */
    private void value(Position pos, BigDecimal q0, Security sec, Product product, Balance bal, boolean marginAccount, String accountKey) {
        // old contributions
        BigDecimal oldMv = pos.marketValue, oldMvLong = pos.mvLong, oldMvShort = pos.mvShort, oldExch = pos.equityReq,
                oldLoan = pos.loanValue, oldHouse = pos.houseReq;
        boolean contributes = "Y".equals(product.contributesToEquitySw);
        // managed position join
        pos.securityFoundSw = sec != null;
        pos.uls = sec == null ? null : sec.uls;
        pos.ulsFoundSw = sec != null && sec.uls != null && !sec.uls.isEmpty() && securities.get(sec.uls) != null;
        pos.productLine = product.prodline;
        pos.strikePrice = sec == null ? null : sec.strikePrice;
        pos.contractSize = sec == null ? null : sec.contractSize;
        pos.expOrMaturityDate = sec == null ? null : sec.expOrMaturityDate;
        Price px = prices.get(pos.cusip);
        if (px != null) {
            pos.price = px.price;
            if (px.prevPrice != null) pos.prevPrice = px.prevPrice;
        }
        // price by extRuleFlag
        String flag = product.extRuleFlag == null ? "" : product.extRuleFlag;
        BigDecimal p;
        String ruleName;
        switch (flag) {
            case "P" -> { p = px == null ? null : px.prevPrice; ruleName = "PREVIOUS_CLOSE"; }
            case "F" -> { p = product.defaultPriceForMgn; ruleName = "FIXED"; }
            case "Z" -> { p = Json.ZERO; ruleName = "NOT_VALUED"; }
            default -> { p = px == null ? null : px.price; ruleName = "STANDARD"; }
        }
        if (p == null) {
            if (product.defaultPriceForMgn != null) {
                p = product.defaultPriceForMgn;
                ruleName = "DEFAULT_PRICE";
            } else {
                p = Json.ZERO;
                ruleName = "NO_PRICE";
            }
        }
        BigDecimal factor = product.factor == null ? ONE : product.factor;
        BigDecimal contractSize = sec != null && sec.contractSize != null ? sec.contractSize : ONE;
        BigDecimal mv = Json.round0(Json.mul9(Json.mul9(Json.mul9(p, pos.tdQty), factor), contractSize));
        pos.priceUsed = p;
        pos.rule = ruleName;
        pos.marketValue = mv;
        pos.loss = pos.costBasis.subtract(mv).max(Json.ZERO);
        boolean marginable = "Y".equals(product.marginableFlag);
        if (!contributes) {
            pos.loanValue = Json.ZERO;
            pos.equityReq = Json.ZERO;
            pos.mvLong = Json.ZERO;
            pos.mvShort = Json.ZERO;
        } else {
            pos.loanValue = mv.signum() > 0 && marginable && marginAccount ? Json.round2(mv.multiply(ONE.subtract(REG_T))) : Json.ZERO;
            if (pos.tdQty.signum() >= 0) {
                pos.equityReq = marginable ? Json.round2(mv.multiply(LONG_MAINT)) : mv;
            } else if (factor.compareTo(ONE) == 0 && contractSize.compareTo(ONE) == 0) {
                BigDecimal absQ = pos.tdQty.abs(), absMv = mv.abs();
                pos.equityReq = p.compareTo(FIVE) >= 0
                        ? Json.round2(absQ.multiply(FIVE)).max(Json.round2(absMv.multiply(SHORT_PCT)))
                        : Json.round2(absQ.multiply(TWO_FIFTY)).max(absMv);
            } else {
                pos.equityReq = Json.round2(mv.abs().multiply(SHORT_PCT));
            }
            pos.mvLong = pos.tdQty.signum() > 0 ? mv : Json.ZERO;
            pos.mvShort = pos.tdQty.signum() < 0 ? mv.abs() : Json.ZERO;
        }
        pos.shortExpDate = pos.tdQty.signum() < 0 && sec != null ? sec.expOrMaturityDate : null;

        // concentration and account sums
        String concKey = accountKey + "|" + pos.cusip;
        Concentration conc = concentrations.get(concKey);
        if (conc == null) conc = new Concentration();
        conc.tdQtyConc = conc.tdQtyConc.add(pos.tdQty.subtract(q0));
        conc.marketVal = conc.marketVal.add(mv.subtract(oldMv));
        conc.mvLong = conc.mvLong.add(pos.mvLong.subtract(oldMvLong));
        conc.mvShort = conc.mvShort.add(pos.mvShort.subtract(oldMvShort));
        conc.exchReq = conc.exchReq.add(pos.equityReq.subtract(oldExch));
        conc.loanValue = conc.loanValue.add(pos.loanValue.subtract(oldLoan));
        bal.mvTdLong = bal.mvTdLong.add(pos.mvLong.subtract(oldMvLong));
        bal.mvTdShort = bal.mvTdShort.add(pos.mvShort.subtract(oldMvShort));
        bal.reqtExch = bal.reqtExch.add(pos.equityReq.subtract(oldExch));
        bal.loanValue = bal.loanValue.add(pos.loanValue.subtract(oldLoan));
        BigDecimal gross = bal.mvTdLong.add(bal.mvTdShort);
        BigDecimal cc = gross.signum() == 0 ? Json.ZERO : Json.div9(conc.mvLong.add(conc.mvShort), gross);
        String ruleList = bal.acctCategory != null && hasRuleList(bal.acctCategory) ? bal.acctCategory : "DEFAULT";
        BigDecimal houseRate = houseRate(ruleList, cc);
        pos.houseReq = contributes ? pos.equityReq.max(Json.round2(houseRate.multiply(mv.abs()))) : Json.ZERO;
        conc.houseReq = conc.houseReq.add(pos.houseReq.subtract(oldHouse));
        bal.reqtHouse = bal.reqtHouse.add(pos.houseReq.subtract(oldHouse));
        conc.cusipConc = cc;
        conc.acctCategoryConc = ruleList;
        concentrations.put(concKey, conc);
    }

    private boolean hasRuleList(String name) {
        try (KeyValueIterator<String, MarginRule> it = marginRules.prefixScan(name + "|", new StringSerializer())) {
            return it.hasNext();
        }
    }

    private BigDecimal houseRate(String list, BigDecimal conc) {
        List<MarginRule> rs = new ArrayList<>();
        try (KeyValueIterator<String, MarginRule> it = marginRules.prefixScan(list + "|", new StringSerializer())) {
            while (it.hasNext()) {
                KeyValue<String, MarginRule> kv = it.next();
                if (kv.value != null) rs.add(kv.value);
            }
        }
        rs.sort((x, y) -> Integer.compare(x.nyrsMgnSeq, y.nyrsMgnSeq));
        for (MarginRule r : rs)
            if (conc.compareTo(r.nyrsLevel) >= 0) return r.nyrsAction;
        return Json.ZERO;
    }

    /** Converts other currencies' cash, then equity, cash available and the margin call. */
    private void evaluate(Balance b) {
        BigDecimal tdTotal = b.tdBal, sdTotal = b.sdBal;
        for (Map.Entry<String, Cash> e : b.cash.entrySet()) {
            FxRate fx = fxRates.get(e.getKey() + "/" + b.baseCurrency);
            if (fx != null) e.getValue().rate = fx.rate;
            BigDecimal r = Json.nz(e.getValue().rate);
            tdTotal = tdTotal.add(Json.round2(Json.mul9(e.getValue().tdBal, r)));
            sdTotal = sdTotal.add(Json.round2(Json.mul9(e.getValue().sdBal, r)));
        }
        b.tdBalTotal = tdTotal;
        b.sdBalTotal = sdTotal;
        b.equity = tdTotal.add(b.mvTdLong).subtract(b.mvTdShort);
        boolean margin = "2".equals(b.acctType) || "3".equals(b.acctType);
        if (margin) {
            BigDecimal gross = b.mvTdLong.add(b.mvTdShort);
            BigDecimal excess = b.equity.subtract(Json.round2(REG_T.multiply(gross)));
            BigDecimal buyingPower = b.sma.max(excess);
            b.cashAvail = Json.ZERO.max(buyingPower.min(b.equity.subtract(b.reqtHouse)));
        } else {
            b.cashAvail = Json.ZERO.max(tdTotal.min(sdTotal));
        }
        if (b.equity.compareTo(b.reqtExch) < 0) b.marginCall = "EXCHANGE";
        else if (b.equity.compareTo(b.reqtHouse) < 0) b.marginCall = "HOUSE";
        else b.marginCall = "NONE";
        b.marginCallAmount = b.marginCall.equals("NONE") ? Json.ZERO : b.reqtHouse.subtract(b.equity);
    }

    /** What margin.updated shows, to tell whether the balance changed. */
    private static String signature(Balance b) {
        if (b == null) return "";
        StringBuilder s = new StringBuilder(256);
        for (BigDecimal d : new BigDecimal[] {b.tdBal, b.sdBal, b.sma, b.mvTdLong, b.mvTdShort, b.cashAvail, b.loanValue,
                 b.reqtHouse, b.reqtExch, b.equity, b.marginCallAmount, b.tdBalTotal, b.sdBalTotal})
            s.append(Json.text(d)).append(',');
        for (Map.Entry<String, Cash> e : b.cash.entrySet())
            s.append(e.getKey()).append(Json.text(e.getValue().tdBal)).append(Json.text(e.getValue().sdBal)).append(',');
        return s.append(b.marginCall).append(b.acctCategory).toString();
    }

    // ------------------------------------------------------------------------------ END_OF_DAY

    /** Business date to the next weekday after D, pending settlements due released (no re-valuation). */
    private void endOfDay(Activity a, long offset, Record<byte[], byte[]> rec) throws Activity.Reject {
        String bd = businessDate();
        LocalDate d = LocalDate.parse(a.businessDate), cur = LocalDate.parse(bd);
        if (d.isBefore(cur)) return; // a replay: skipped
        if (d.isAfter(cur.plusDays(MAX_DAYS_AHEAD)))
            throw new Activity.Reject("DATE_OUT_OF_RANGE", "businessDate", "END_OF_DAY too far ahead");
        LocalDate next = d.plusDays(1);
        while (next.getDayOfWeek() == DayOfWeek.SATURDAY || next.getDayOfWeek() == DayOfWeek.SUNDAY) next = next.plusDays(1);
        String nbd = next.toString();
        meta.put("businessDate", nbd);
        List<KeyValue<String, Pending>> due = new ArrayList<>();
        try (KeyValueIterator<String, Pending> it = pending.range("", nbd + "|~")) {
            while (it.hasNext()) due.add(it.next());
        }
        java.util.LinkedHashMap<String, List<String>> touchedPositions = new java.util.LinkedHashMap<>();
        java.util.LinkedHashMap<String, List<String>> touchedAccounts = new java.util.LinkedHashMap<>();
        for (KeyValue<String, Pending> kv : due) {
            Pending p = kv.value;
            pending.delete(kv.key);
            Position pos = positions.get(p.positionKey);
            if (pos != null && p.sdQty.signum() != 0) {
                pos.sdQty = pos.sdQty.add(p.sdQty);
                positions.put(p.positionKey, pos);
                touchedPositions.computeIfAbsent(p.positionKey, k -> new ArrayList<>()).add(p.activityId);
            }
            Balance bal = balances.get(p.accountKey);
            if (bal != null && p.sdBal.signum() != 0) {
                if (p.currency == null || p.currency.isEmpty()) bal.sdBal = bal.sdBal.add(p.sdBal);
                else bal.cash.computeIfAbsent(p.currency, k -> new Cash()).sdBal =
                        bal.cash.get(p.currency).sdBal.add(p.sdBal);
                balances.put(p.accountKey, bal);
                touchedAccounts.computeIfAbsent(p.accountKey, k -> new ArrayList<>()).add(p.activityId);
            }
        }
        String now = TIME.format(Instant.now());
        for (Map.Entry<String, List<String>> e : touchedPositions.entrySet()) {
            Position pos = positions.get(e.getKey());
            pos.version++;
            positions.put(e.getKey(), pos);
            emit(POSITION_SINK, e.getKey(), settlement(positionUpdatedBody(pos, e.getKey(), List.of(), new long[0], null, now), false,
                    e.getValue(), a.businessDate, offset), rec);
        }
        for (Map.Entry<String, List<String>> e : touchedAccounts.entrySet()) {
            Balance bal = balances.get(e.getKey());
            evaluate(bal);
            bal.version++;
            balances.put(e.getKey(), bal);
            emit(MARGIN_SINK, e.getKey(), settlement(marginUpdatedBody(bal, e.getKey(), now), true, e.getValue(), a.businessDate, offset),
                    rec);
        }
    }

    // --------------------------------------------------------------------------------- outputs

    private void emit(String sink, String key, byte[] value, Record<byte[], byte[]> in) {
        ctx.forward(new Record<>(key.getBytes(StandardCharsets.UTF_8), value, in.timestamp(), new RecordHeaders()), sink);
    }

    private void deadLetter(Record<byte[], byte[]> rec, Activity.Reject r, int partition, long offset) {
        Headers h = new RecordHeaders();
        h.add("reason", r.reason.getBytes(StandardCharsets.UTF_8));
        h.add("message", r.getMessage().getBytes(StandardCharsets.UTF_8));
        h.add("field", r.field.getBytes(StandardCharsets.UTF_8));
        h.add("source.topic", inputTopic.getBytes(StandardCharsets.UTF_8));
        h.add("source.partition", Integer.toString(partition).getBytes(StandardCharsets.UTF_8));
        h.add("source.offset", Long.toString(offset).getBytes(StandardCharsets.UTF_8));
        Header ct = rec.headers().lastHeader("content-type");
        if (ct != null) h.add("content-type", ct.value());
        ctx.forward(new Record<>(rec.key(), rec.value(), rec.timestamp(), h), DLQ_SINK);
    }

    /** A JSON object under construction: fields written, closing brace not yet. */
    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private byte[] json(Body b) {
        out.reset();
        try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
            g.writeStartObject();
            b.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    private static void dec(JsonGenerator g, String name, BigDecimal d) throws IOException {
        if (d == null) g.writeNullField(name);
        else g.writeStringField(name, Json.text(d));
    }

    private static void ids(JsonGenerator g, List<String> ids, long[] offsets) throws IOException {
        g.writeArrayFieldStart("activityIds");
        for (String id : ids) g.writeString(id);
        g.writeEndArray();
        g.writeArrayFieldStart("offsets");
        for (long o : offsets) g.writeNumber(o);
        g.writeEndArray();
    }

    private Body positionUpdatedBody(Position p, String key, List<String> ids, long[] offsets, String eventTime, String now) {
        return g -> {
            g.writeStringField("positionKey", key);
            g.writeStringField("firmPostrmt", p.firm);
            g.writeStringField("ledgerPostrmt", p.ledger);
            g.writeStringField("branchPostrmt", p.branch);
            g.writeStringField("basePostrmt", p.base);
            g.writeStringField("acctTypePostrmt", p.acctType);
            g.writeStringField("subAcctKey", p.subAcctKey);
            g.writeStringField("cusip", p.cusip);
            dec(g, "tdQty", p.tdQty);
            dec(g, "sdQty", p.sdQty);
            dec(g, "tdQtyShortSide", p.tdQtyShortSide);
            dec(g, "houseReq", p.houseReq);
            dec(g, "equityReq", p.equityReq);
            dec(g, "loss", p.loss);
            if (p.shortExpDate == null) g.writeNullField("shortExpDate");
            else g.writeStringField("shortExpDate", p.shortExpDate);
            g.writeStringField("pairoffAcctType", p.pairoffAcctType);
            g.writeStringField("pairoffCusip", p.pairoffCusip);
            dec(g, "pairoffTdQty", p.pairoffTdQty);
            dec(g, "costBasis", p.costBasis);
            dec(g, "marketValue", p.marketValue);
            dec(g, "loanValue", p.loanValue);
            g.writeStringField("bondRedeemSw", p.bondRedeemSw);
            g.writeStringField("acctTransferredSw", p.acctTransferredSw);
            g.writeStringField("reverseSplitSw", p.reverseSplitSw);
            dec(g, "acctActivityQty", p.acctActivityQty);
            dec(g, "acctActivityAmt", p.acctActivityAmt);
            g.writeNumberField("version", p.version);
            ids(g, ids, offsets);
            if (eventTime == null) g.writeNullField("eventTime");
            else g.writeStringField("eventTime", eventTime);
            g.writeStringField("processingTime", now);
        };
    }

    private byte[] positionUpdated(Position p, String key, List<String> ids, long[] offsets, String eventTime, String now) {
        Body b = positionUpdatedBody(p, key, ids, offsets, eventTime, now);
        return json(g -> {
            b.write(g);
            g.writeStringField("cause", "activity");
        });
    }

    private byte[] marketValue(Position p, String key, List<String> ids, long[] offsets, String now) {
        return json(g -> {
            g.writeStringField("positionKey", key);
            g.writeStringField("productId", p.cusip);
            g.writeStringField("firm", p.firm);
            g.writeStringField("ledger", p.ledger);
            g.writeStringField("branch", p.branch);
            g.writeStringField("base", p.base);
            g.writeStringField("subAcctKey", p.subAcctKey);
            dec(g, "quantity", p.tdQty);
            dec(g, "price", p.priceUsed);
            g.writeStringField("rule", p.rule);
            dec(g, "marketValue", p.marketValue);
            g.writeStringField("timestamp", now);
            g.writeStringField("cause", "activity");
            ids(g, ids, offsets);
        });
    }

    private Body marginUpdatedBody(Balance b, String key, String now) {
        return g -> {
            g.writeStringField("accountKey", key);
            g.writeStringField("firm", b.firm);
            g.writeStringField("ledger", b.ledger);
            g.writeStringField("branch", b.branch);
            g.writeStringField("base", b.base);
            g.writeStringField("acctType", b.acctType);
            g.writeStringField("acctCategory", b.acctCategory);
            g.writeStringField("baseCurrency", b.baseCurrency);
            dec(g, "tdBal", b.tdBal);
            dec(g, "sdBal", b.sdBal);
            g.writeArrayFieldStart("cash");
            for (Map.Entry<String, Cash> e : b.cash.entrySet()) {
                Cash c = e.getValue();
                BigDecimal r = Json.nz(c.rate);
                g.writeStartObject();
                g.writeStringField("currency", e.getKey());
                dec(g, "tdBal", c.tdBal);
                dec(g, "sdBal", c.sdBal);
                dec(g, "rate", c.rate);
                dec(g, "tdBalBase", Json.round2(Json.mul9(c.tdBal, r)));
                dec(g, "sdBalBase", Json.round2(Json.mul9(c.sdBal, r)));
                g.writeEndObject();
            }
            g.writeEndArray();
            dec(g, "tdBalTotal", b.tdBalTotal);
            dec(g, "sdBalTotal", b.sdBalTotal);
            dec(g, "sma", b.sma);
            dec(g, "mvTdLong", b.mvTdLong);
            dec(g, "mvTdShort", b.mvTdShort);
            dec(g, "cashAvail", b.cashAvail);
            dec(g, "loanValue", b.loanValue);
            dec(g, "reqtHouse", b.reqtHouse);
            dec(g, "reqtExch", b.reqtExch);
            dec(g, "equity", b.equity);
            g.writeStringField("marginCall", b.marginCall);
            dec(g, "marginCallAmount", b.marginCallAmount);
            g.writeNumberField("version", b.version);
            g.writeStringField("processingTime", now);
        };
    }

    private byte[] marginUpdated(Balance b, String key, List<String> ids, long[] offsets, String now) {
        Body body = marginUpdatedBody(b, key, now);
        return json(g -> {
            body.write(g);
            g.writeStringField("cause", "activity");
            ids(g, ids, offsets);
        });
    }

    private byte[] settlement(Body body, boolean withIds, List<String> settled, String businessDate, long eodOffset) {
        return json(g -> {
            body.write(g);
            g.writeStringField("cause", "settlement");
            if (withIds) ids(g, List.of(), new long[0]);
            g.writeArrayFieldStart("settledActivityIds");
            for (String id : settled) g.writeString(id);
            g.writeEndArray();
            g.writeStringField("businessDate", businessDate);
            g.writeNumberField("endOfDayOffset", eodOffset);
        });
    }
}
