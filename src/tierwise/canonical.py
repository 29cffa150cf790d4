"""The canonical tables, defined once.

Every source (CSV, Excel, Parquet, a database table) is mapped onto one of these
tables at import. Analytics, snapshots and the operational store only ever see
canonical columns. Money is exact: ``DECIMAL(18, 2)`` in every engine. Personal fields
are marked ``personal=True``; the protection layer encrypts them at rest and the
application layer masks them by role.

>>> TABLES["transactions"].column("amount").kind
'money'
>>> [c.name for c in TABLES["customers"].personal_columns()][:3]
['name', 'id_number', 'phone']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

Kind = Literal["id", "text", "category", "date", "timestamp", "money", "integer", "number", "boolean"]

#: SQL type used for each kind in the engine and in Parquet
SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "category": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "money": "DECIMAL(18,2)",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
}

#: Arrow type stored for each kind (Parquet files, snapshots, generated data)
ARROW_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "text": pa.string(),
    "category": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "money": pa.decimal128(18, 2),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Parameters
    ----------
    name : canonical name (snake_case, English)
    kind : value kind; decides parsing and the stored type
    required : a row without a value here is rejected
    personal : personal data (encrypted at rest, masked by role)
    non_negative : negative values are rejected (or kept as returns, see ``returns``)
    future_ok : a date after today is normal here (maturity dates); other dates in the
        future are rejected
    description : one line for the documentation, English / 中文
    """

    name: str
    kind: Kind
    required: bool = False
    personal: bool = False
    non_negative: bool = False
    future_ok: bool = False
    description: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """One canonical table.

    ``key`` lists the columns that identify a row (duplicates are rejected);
    ``customer_ref`` says the table refers to ``customers.customer_id`` (unknown ids are
    rejected when the customers table is loaded); ``event_time`` is the column that must
    not lie in the future; ``default_mode`` is how a new import combines with earlier
    ones: ``append`` (event tables) or ``replace`` (state tables exported whole).
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    customer_ref: bool = True
    event_time: str | None = None
    default_mode: Literal["append", "replace"] = "append"
    description: str = ""
    _index: dict[str, Column] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._index[name]

    def has(self, name: str) -> bool:
        return name in self._index

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def personal_columns(self) -> list[Column]:
        return [c for c in self.columns if c.personal]

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the table, columns in canonical order."""
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in self.columns])


C = Column

CUSTOMERS = Table(
    "customers",
    (
        C("customer_id", "id", required=True, description="customer number / 客户号"),
        C("name", "text", personal=True, description="full name / 姓名"),
        C("id_number", "id", personal=True, description="national ID or passport number / 证件号码"),
        C("phone", "id", personal=True, description="mobile phone / 手机号"),
        C("email", "text", personal=True, description="e-mail / 电子邮箱"),
        C("address", "text", personal=True, description="postal address / 地址"),
        C("birthday", "date", personal=True, description="date of birth / 出生日期"),
        C("gender", "category", description="gender / 性别"),
        C("open_date", "date", description="date the relationship began / 开户日期"),
        C("manager_id", "id", description="relationship manager / 客户经理"),
        C("branch_id", "id", description="branch or store / 网点"),
        C("city", "category", description="city / 城市"),
        C("source", "category", description="acquisition source or channel / 获客渠道"),
        C("occupation", "category", description="occupation / 职业"),
        C("risk_level", "category", description="risk appetite grade / 风险等级"),
        C("status", "category", description="account status / 状态"),
    ),
    key=("customer_id",),
    customer_ref=False,
    default_mode="replace",
    description="one row per customer / 客户信息",
)

TRANSACTIONS = Table(
    "transactions",
    (
        C("transaction_id", "id", description="transaction id (optional; duplicates rejected) / 交易流水号"),
        C("customer_id", "id", required=True, description="customer number / 客户号"),
        C("txn_time", "timestamp", required=True, description="date or time of the transaction / 交易日期"),
        C("amount", "money", required=True, non_negative=True, description="amount; negative = return / 交易金额"),
        C("quantity", "integer", description="units / 数量"),
        C("product_id", "id", description="product code / 产品代码"),
        C("product_category", "category", description="product category / 产品类别"),
        C("channel", "category", description="channel / 渠道"),
        C("store_id", "id", description="store or branch where it happened / 门店"),
        C("profit", "money", description="gross profit, if known / 毛利"),
    ),
    key=("transaction_id",),
    event_time="txn_time",
    description="purchases, deposits and other value events / 交易流水",
)

BALANCES = Table(
    "balances",
    (
        C("customer_id", "id", required=True, description="customer number / 客户号"),
        C("balance_date", "date", required=True, description="date of the balance / 余额日期"),
        C("product_id", "id", description="product or account / 产品代码"),
        C("product_type", "category", description="deposit, wealth, fund, insurance ... / 产品类型"),
        C("balance", "money", required=True, non_negative=True, description="end-of-day balance / 余额"),
    ),
    key=("customer_id", "balance_date", "product_id"),
    event_time="balance_date",
    description="daily or monthly assets per customer and product (for average-AUM tiers) / 资产余额",
)

HOLDINGS = Table(
    "holdings",
    (
        C("customer_id", "id", required=True, description="customer number / 客户号"),
        C("product_id", "id", required=True, description="product code / 产品代码"),
        C("product_type", "category", description="product type / 产品类型"),
        C("product_name", "text", description="product name / 产品名称"),
        C("open_date", "date", description="purchase or open date / 购买日期"),
        C("maturity_date", "date", future_ok=True, description="maturity date / 到期日"),
        C("amount", "money", non_negative=True, description="amount held / 持有金额"),
        C("target_return", "number", description="target return rate / 目标收益率"),
        C("status", "category", description="holding status / 状态"),
    ),
    key=("customer_id", "product_id", "open_date"),
    default_mode="replace",
    description="products held, with open and maturity dates / 持有产品",
)

INTERACTIONS = Table(
    "interactions",
    (
        C("interaction_id", "id", description="interaction id / 记录编号"),
        C("customer_id", "id", required=True, description="customer number / 客户号"),
        C("interaction_time", "timestamp", required=True, description="date or time / 联系时间"),
        C("kind", "category", required=True, description="contact, visit, complaint, survey ... / 类型"),
        C("channel", "category", description="phone, sms, branch, wechat ... / 渠道"),
        C("manager_id", "id", description="who made the contact / 客户经理"),
        C("outcome", "category", description="outcome / 结果"),
        C("score", "number", description="survey score / 满意度评分"),
        C("note", "text", personal=True, description="free-text note (may hold personal data) / 备注"),
    ),
    key=("interaction_id",),
    event_time="interaction_time",
    description="contacts, visits, complaints and survey scores / 客户接触记录",
)

LEADS = Table(
    "leads",
    (
        C("lead_id", "id", required=True, description="lead id / 线索编号"),
        C("customer_id", "id", description="customer number once converted / 客户号"),
        C("name", "text", personal=True, description="name / 姓名"),
        C("phone", "id", personal=True, description="phone / 电话"),
        C("created_date", "date", required=True, description="date the lead arrived / 登记日期"),
        C("source", "category", description="exhibition, inquiry, search ... / 来源"),
        C("intent", "category", description="purchase intent (high/medium/low) / 购买意向"),
        C("ability", "category", description="purchase ability (high/medium/low) / 购买能力"),
        C("budget", "money", non_negative=True, description="budget / 预算"),
        C("visits", "integer", description="number of visits / 到访次数"),
        C("last_visit_date", "date", description="last visit / 最近到访"),
        C("manager_id", "id", description="sales owner / 置业顾问"),
        C("stage", "category", description="pipeline stage / 阶段"),
    ),
    key=("lead_id",),
    customer_ref=False,
    event_time="created_date",
    default_mode="replace",
    description="sales leads (real estate, B2B) / 销售线索",
)

POINTS = Table(
    "points",
    (
        C("movement_id", "id", description="movement id / 流水号"),
        C("customer_id", "id", required=True, description="customer number / 会员号"),
        C("event_time", "timestamp", required=True, description="date or time / 变动时间"),
        C("points", "integer", required=True, description="points: negative = redeemed / 积分变动（负数为兑换）"),
        C("kind", "category", description="redeem, adjust, bonus ... / 类型"),
        C("note", "text", description="note / 备注"),
    ),
    key=("movement_id",),
    event_time="event_time",
    description="points movements not earned from purchases: redemptions and adjustments / 积分兑换与调整",
)

TABLES: dict[str, Table] = {t.name: t for t in (CUSTOMERS, TRANSACTIONS, BALANCES, HOLDINGS, INTERACTIONS, LEADS,
                                                 POINTS)}
