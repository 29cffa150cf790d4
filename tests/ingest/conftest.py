from __future__ import annotations

from pathlib import Path

import pytest

CUSTOMERS_GBK = (
    "XX银行客户信息导出 2024年\n"
    "客户号,客户姓名,手机号,出生日期,客户经理,网点\n"
    "000123,张三,13812345678,1980/2/29,M01,B1\n"
    "000124,李四,13900000000,19900105,M01,B1\n"
    "000125,王五,,1990年1月5日,M02,B2\n"
    "000126,赵六,13700000000,1975-12-31,M02,B2\n"
)


@pytest.fixture
def customers_file(tmp_path: Path) -> Path:
    p = tmp_path / "customers_gbk.csv"
    p.write_bytes(CUSTOMERS_GBK.encode("gbk"))
    return p


@pytest.fixture
def ws_with_customers(ws, customers_file, today):
    from tierwise.app.importing import import_table

    import_table(ws, "customers", str(customers_file), today=today)
    return ws
