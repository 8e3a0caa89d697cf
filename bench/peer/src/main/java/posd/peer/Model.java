package posd.peer;

import java.math.BigDecimal;
import java.util.TreeMap;

/** State and reference entities, stored as JSON (Jackson) in RocksDB stores. */
final class Model {
    private Model() {}

    // --- reference data (global stores)
    public static final class Rule {
        public String maxxKeyCode, shortDesc, longDesc, updTdBalSw, updSdBalSw, adjSmaSw, updTdQtySw, updSdQtySw;
    }

    public static final class Product {
        public String prodline, descShort, fractionsAllowedSw, marginableFlag, contributesToEquitySw, extRuleFlag;
        public BigDecimal factor, defaultPriceForMgn;
    }

    public static final class Security {
        public String cusip, uls, productLine, expOrMaturityDate;
        public BigDecimal strikePrice, contractSize;
    }

    public static final class Price {
        public String cusip, asOf;
        public BigDecimal price, prevPrice;
    }

    public static final class MarginRule {
        public String nyrsMgnRule;
        public int nyrsMgnSeq;
        public BigDecimal nyrsLevel, nyrsAction;
    }

    public static final class FxRate {
        public String currency, baseCurrency, asOf;
        public BigDecimal rate;
    }

    // --- state (per partition task stores, changelogged)
    public static final class Position {
        public String firm, ledger, branch, base, acctType, subAcctKey, cusip;
        public BigDecimal tdQty = Json.ZERO, sdQty = Json.ZERO, tdQtyShortSide = Json.ZERO, houseReq = Json.ZERO,
                equityReq = Json.ZERO, loss = Json.ZERO, pairoffTdQty = Json.ZERO, costBasis = Json.ZERO,
                marketValue = Json.ZERO, loanValue = Json.ZERO, acctActivityQty = Json.ZERO, acctActivityAmt = Json.ZERO;
        public String shortExpDate, pairoffAcctType = "", pairoffCusip = "";
        public String bondRedeemSw = "N", acctTransferredSw = "N", reverseSplitSw = "N";
        public long version;
        // contributions to the account's sums (so that a change moves them by its difference)
        public BigDecimal mvLong = Json.ZERO, mvShort = Json.ZERO;
        // managed position (product control), folded into the position entity
        public String uls, productLine, expOrMaturityDate, rule;
        public BigDecimal price, prevPrice, priceUsed, strikePrice, contractSize;
        public boolean securityFoundSw, ulsFoundSw;
    }

    public static final class Cash {
        public BigDecimal tdBal = Json.ZERO, sdBal = Json.ZERO, rate;
    }

    public static final class Balance {
        public String firm, ledger, branch, base, acctType, acctCategory, baseCurrency = "USD";
        public BigDecimal tdBal = Json.ZERO, sdBal = Json.ZERO, sma = Json.ZERO, mvTdLong = Json.ZERO,
                mvTdShort = Json.ZERO, cashAvail = Json.ZERO, loanValue = Json.ZERO, reqtHouse = Json.ZERO,
                reqtExch = Json.ZERO, equity = Json.ZERO, marginCallAmount = Json.ZERO,
                tdBalTotal = Json.ZERO, sdBalTotal = Json.ZERO;
        public String marginCall = "NONE";
        public TreeMap<String, Cash> cash = new TreeMap<>();
        public long version;
    }

    public static final class Concentration {
        public BigDecimal tdQtyConc = Json.ZERO, marketVal = Json.ZERO, cusipConc = Json.ZERO, mvLong = Json.ZERO,
                mvShort = Json.ZERO, exchReq = Json.ZERO, loanValue = Json.ZERO, houseReq = Json.ZERO;
        public String acctCategoryConc;
    }

    public static final class Pending {
        public String positionKey, accountKey, activityId, currency;
        public BigDecimal sdQty = Json.ZERO, sdBal = Json.ZERO;
    }
}
