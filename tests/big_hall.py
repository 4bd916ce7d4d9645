"""A big hall for tests: 40 services in 8 categories (codes A-Z, then AA-AN), 20 windows;
the last service (AN) has no window."""
from __future__ import annotations

from pathlib import Path

from server import config

CATEGORIES = [
    ("社会保障", "Social Security", ["参保登记", "养老保险待遇", "失业保险", "工伤认定", "社保卡补换"]),
    ("医疗保障", "Medical Insurance", ["医保参保", "异地就医备案", "医疗费用报销", "门诊慢特病", "生育保险"]),
    ("税务综合服务", "Tax Services", ["税务综合服务", "发票领用", "个税汇算", "税务登记", "社保费缴纳"]),
    ("不动产登记", "Real Estate", ["不动产登记", "抵押登记", "权属查询", "交易备案", "预告登记"]),
    ("市场监管", "Market Regulation", ["企业开办", "变更登记", "个体工商户", "食品经营许可", "注销登记"]),
    ("公安服务", "Police Services", ["户籍业务", "居住证", "出入境证件", "身份证办理", "车驾管业务"]),
    ("公积金", "Housing Fund", ["公积金提取", "公积金贷款", "缴存登记", "转移接续", "冲还贷"]),
    ("民政与综合", "Civil Affairs", ["婚姻登记", "社会救助", "残疾人服务", "老年优待", "综合受理"]),
]


def codes(n: int) -> list[str]:
    letters = [chr(65 + i) for i in range(26)]
    return (letters + [a + b for a in letters for b in letters])[:n]


def big_hall_toml(base: str) -> str:
    """The demo hall.toml with its services and windows replaced by the big hall's."""
    head = base.split("[[services]]")[0]
    out = [head]
    all_codes = codes(40)
    i = 0
    for cat, cat_en, names in CATEGORIES:
        for name in names:
            code = all_codes[i]
            i += 1
            out.append(f'[[services]]\ncode = "{code}"\nname = "{name}"\n'
                       f'name_en = "{cat_en} {len(name)}-{code}"\n'
                       f'category = "{cat}"\ncategory_en = "{cat_en}"\n\n')
    for w in range(1, 21):  # the last service, AN, has no window: "no window serves this"
        serves = ", ".join(f'"{c}"' for c in all_codes[(w - 1) * 2:min(39, (w - 1) * 2 + 2)])
        out.append(f'[[windows]]\nnumber = {w}\nservices = [{serves}]\n\n')
    return "".join(out)


def write_big_hall(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hall.toml"
    path.write_text(big_hall_toml(config.demo_text(always_open=True)), encoding="utf-8")
    (folder / "photos").mkdir(exist_ok=True)
    return path
