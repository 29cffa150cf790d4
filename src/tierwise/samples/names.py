"""Synthetic names: Chinese personal names, foreign company names, Chinese store names.

Names are assembled from common parts chosen at random, so they look real but belong
to nobody. Everything is vectorised: parts are picked as integer codes and joined by
Arrow string kernels. Every character is GBK-encodable (the bank export writes GBK).

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> names = person_names(rng, 3).to_pylist()
>>> len(names), all(2 <= len(x) <= 3 for x in names)
(3, True)
>>> all(x.encode("gbk") for x in store_names(rng, 5).to_pylist())
True
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import categories

__all__ = ["COUNTRIES", "company_names", "person_names", "store_names"]

# common surnames, roughly by frequency (weights in per mille)
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_SURNAME_W = np.concatenate([np.linspace(70, 12, 10), np.linspace(11, 4, 30), np.full(len(_SURNAMES) - 40, 2.5)])
_GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅文辉鹏斌宇浩凯秀丹健俊峰晨"
    "欣怡婷雪琳晶萍颖倩雯佳慧婧嘉琪子涵思睿博轩泽宇昊天一诺梓萱雨彤可馨海波立新永春金凤小龙云飞"
    "家豪振东德明淑珍宏伟亮"
)
_WESTERN = ["Global", "Pacific", "Atlantic", "Nordic", "Prime", "Summit", "Vertex", "Orion", "Delta", "Apex",
            "Sunrise", "Harbor", "Crescent", "Evergreen", "Silverline", "Bluewater", "Redwood", "Keystone",
            "Meridian", "Northstar", "Horizon", "Pioneer", "Liberty", "Sterling", "Falcon", "Cedar", "Granite"]
_TRADES = ["Trading", "Industries", "Supply", "Imports", "Distribution", "Technologies", "Engineering",
           "Hardware", "Textiles", "Machinery", "Electronics", "Home Goods", "Packaging", "Solutions"]
_FORMS = ["Co., Ltd.", "LLC", "GmbH", "S.A.", "Ltd.", "Inc.", "Pty Ltd", "S.r.l.", "B.V.", "LLC", "Ltd."]

#: (country, international dialling code, weight) of the B2B buyers
COUNTRIES: list[tuple[str, str, float]] = [
    ("United States", "1", 18), ("Germany", "49", 8), ("United Kingdom", "44", 7), ("India", "91", 7),
    ("Brazil", "55", 5), ("Mexico", "52", 4), ("Russia", "7", 5), ("Australia", "61", 4), ("Canada", "1", 4),
    ("France", "33", 4), ("Italy", "39", 3), ("Spain", "34", 3), ("Poland", "48", 3), ("Turkey", "90", 4),
    ("Saudi Arabia", "966", 3), ("United Arab Emirates", "971", 4), ("Nigeria", "234", 3), ("South Africa", "27", 2),
    ("Vietnam", "84", 3), ("Indonesia", "62", 3), ("Thailand", "66", 2), ("Malaysia", "60", 2),
    ("Japan", "81", 2), ("South Korea", "82", 2),
]
_STORE_HEAD = list("惠民家乐好邻居百佳福满鑫源金鼎华联万家优品旺客友谊新世纪东方明珠")
_STORE_KIND = ["便利店", "超市", "百货", "副食店", "商行", "食品店", "生活超市", "烟酒店", "母婴店", "小卖部"]
_STORE_SITE = ["", "", "(中山路店)", "(人民路店)", "(解放路店)", "(建设路店)", "(幸福里店)", "(新华街店)",
               "(和平路店)", "(学府路店)", "(滨江店)", "(火车站店)"]


def _pick(rng: np.random.Generator, values: list[str], n: int, p: np.ndarray | None = None) -> pa.Array:
    probs = None if p is None else p / p.sum()
    return categories(rng.choice(len(values), size=n, p=probs), values)


def person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Chinese personal names: a common surname and one or two given-name characters."""
    surname = _pick(rng, _SURNAMES, n, _SURNAME_W)
    first = _pick(rng, _GIVEN, n)
    second = categories(np.where(rng.random(n) < 0.3, len(_GIVEN), rng.integers(0, len(_GIVEN), n)), [*_GIVEN, ""])
    return pc.binary_join_element_wise(surname, first, second, "")


def company_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Foreign trading company names such as ``Summit Hardware Co., Ltd.``."""
    return pc.binary_join_element_wise(_pick(rng, _WESTERN, n), _pick(rng, _TRADES, n), _pick(rng, _FORMS, n), " ")


def store_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Chinese retail store names such as ``惠民便利店(中山路店)``."""
    head = pc.binary_join_element_wise(_pick(rng, _STORE_HEAD, n), _pick(rng, _STORE_HEAD, n), "")
    return pc.binary_join_element_wise(head, _pick(rng, _STORE_KIND, n), _pick(rng, _STORE_SITE, n), "")
