"""User-facing text in zh-CN and en.

>>> t("rows_read", "zh-CN"), t("rows_read", "en")
('读取行数', 'rows read')
>>> t("reason.unknown_customer", "zh-CN")
'客户号不在客户表中'
"""

from __future__ import annotations

import os

LOCALES = ("zh-CN", "en")

MESSAGES: dict[str, tuple[str, str]] = {  # key: (en, zh-CN)
    "rows_read": ("rows read", "读取行数"),
    "accepted": ("accepted", "接受"),
    "rejected": ("rejected", "拒绝"),
    "reject_rate": ("rejected share", "拒绝比例"),
    "reason": ("reason", "原因"),
    "count": ("rows", "行数"),
    "reconciliation": ("Reconciliation", "导入对账"),
    "import_committed": ("import {id} committed: {accepted:,} rows of {table} are now visible",
                         "导入 {id} 已提交：{table} 新增 {accepted:,} 行"),
    "quarantine_at": ("rejected rows with reasons: {path}", "被拒绝的行及原因：{path}"),
    "workspace_created": ("workspace created at {path} from preset '{preset}'",
                          "已在 {path} 按预设 '{preset}' 创建工作区"),
    "next_import": ("next: tierwise import {path} customers FILE", "下一步：tierwise import {path} customers 文件"),
    "error": ("error", "错误"),
    "hint": ("hint", "提示"),
    "demo_generated": ("generated {n:,} {preset} customers ({files} files) in {path}",
                       "已生成 {n:,} 个{preset}客户（{files} 个文件）：{path}"),
    "demo_done": ("demo finished: workspace {path}", "演示完成：工作区 {path}"),
    "table": ("table", "表"),
    "batches": ("imports", "导入批次"),
    "rows": ("rows", "行数"),
    "status_title": ("Workspace {path}", "工作区 {path}"),
    "segment": ("segment", "分群"),
    "customers": ("customers", "客户数"),
    "share": ("share", "占比"),
    "revenue": ("revenue", "金额"),
    "revenue_share": ("share of revenue", "金额占比"),
    "aov": ("avg. order", "客单价"),
    "median_recency_days": ("median recency (days)", "最近购买天数中位数"),
}

#: why an import rejected a row: stable code → (en, zh-CN)
REASONS: dict[str, tuple[str, str]] = {
    "missing_required": ("required value is missing", "必填字段为空"),
    "unparseable": ("value cannot be read", "无法解析的值"),
    "implausible_date": ("date outside the plausible range", "日期超出合理范围"),
    "future_date": ("date lies in the future", "日期晚于今天"),
    "negative_amount": ("negative amount (returns are rejected by the policy)", "金额为负（政策规定拒绝退货）"),
    "negative_value": ("negative value where only ≥ 0 is allowed", "不允许为负数"),
    "duplicate_in_file": ("duplicate key within the file (first occurrence kept)", "文件内重复（保留首次出现）"),
    "duplicate_existing": ("key already imported earlier", "与已导入数据重复"),
    "unknown_customer": ("customer id not in the customers table", "客户号不在客户表中"),
    "too_few_fields": ("row has fewer fields than the header", "字段数少于表头"),
    "too_many_fields": ("row has more fields than the header", "字段数多于表头"),
    "invalid_encoding": ("row contains bytes that are not valid text", "编码无效"),
    "bad_quoting": ("unbalanced or misplaced quotes", "引号不匹配"),
    "line_too_long": ("line longer than 4 MiB", "行过长"),
    "malformed_row": ("row cannot be split into fields", "行格式错误"),
}
MESSAGES.update({f"reason.{code}": texts for code, texts in REASONS.items()})


def _merge_catalogs() -> None:
    """Each area keeps its texts in its own catalog module (``i18n/<area>.py`` with a ``MESSAGES``
    dict of the same shape); a key defined twice is a bug."""
    from importlib import import_module

    for area in ("servicing", "web", "reports", "trust"):
        catalog = import_module(f"tierwise.i18n.{area}").MESSAGES
        clash = sorted(set(catalog) & set(MESSAGES))
        if clash:
            raise RuntimeError(f"i18n keys defined twice: {clash}")
        MESSAGES.update(catalog)


_merge_catalogs()


def default_locale() -> str:
    env = os.environ.get("TIERWISE_LANG", "")
    if env.lower().startswith("zh"):
        return "zh-CN"
    if env.lower().startswith("en"):
        return "en"
    return "zh-CN"


def t(key: str, locale: str | None = None, **kw) -> str:
    """The message ``key`` in ``locale`` (zh-CN or en), formatted with ``kw``."""
    en, zh = MESSAGES.get(key, (key, key))
    text = zh if (locale or default_locale()) == "zh-CN" else en
    return text.format(**kw) if kw else text
