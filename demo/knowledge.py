"""The demo's knowledge base: known faults and fixes for the demo's part categories, in
English and Simplified Chinese, some customer-visible (the returns portal offers them on
SO-1001 and the other demo orders), with a few links to the demo's cases and deflections so
the Metrics page has figures."""

from __future__ import annotations

from sqlalchemy import select

from bootstrap import Services
from core.db import UnitOfWork
from knowledge.articles import ArticleDraft
from knowledge.models import ArticleLanguage, ArticleStatus
from returns.rma import Rma

AUTHOR = "desk@demo.spareflow"
EN, ZH = ArticleLanguage.EN, ArticleLanguage.ZH_HANS

# title, symptom, cause, fix, category, language, customer-visible, customer can fix it alone
ARTICLES: list[tuple[str, str, str, str, str, ArticleLanguage, bool, bool]] = [
    (
        "Fan rattles or buzzes after fitting",
        "A rattle or buzz from the fan, loudest in the first minutes after switching on.",
        "The fan guard or a screw is loose, or a cable touches the blades.",
        "1. Switch off and unplug.\n2. Tighten the four fan screws evenly.\n"
        "3. Tie back any cable within 1 cm of the blades.\n4. Switch on and listen.",
        "Cooling",
        EN,
        True,
        True,
    ),
    (
        "风扇有噪音或嗡嗡声",
        "开机后风扇有噪音，前几分钟最明显。",
        "风扇罩或螺丝松动，或线缆碰到扇叶。",
        "1. 关机并拔掉电源。\n2. 均匀拧紧风扇的四颗螺丝。\n"
        "3. 把靠近扇叶的线缆扎好。\n4. 开机试听。",
        "Cooling",
        ZH,
        True,
        True,
    ),
    (
        "Fan does not spin",
        "The fan stays still; the device overheats or shuts down.",
        "The fan connector is in the wrong header or not fully seated; rarely a dead motor.",
        "1. Check the connector is fully home on the FAN header.\n"
        "2. Try the fan on another header.\n3. Still still: replace the fan (warranty).",
        "Cooling",
        EN,
        False,
        False,
    ),
    (
        "Power supply clicks and shuts down under load",
        "The unit clicks and switches off when the device starts working hard.",
        "Over-current protection trips: the load is above the rating, or a cable is damaged.",
        "1. Check the device's draw against the label.\n2. Swap the output cable.\n"
        "3. Still tripping at rated load: replace the unit.",
        "Power supplies",
        EN,
        True,
        False,
    ),
    (
        "电源在负载下咔哒一声后关机",
        "设备高负载时电源咔哒一声并断电。",
        "过流保护触发：负载超过额定功率，或输出线损坏。",
        "1. 核对设备功耗与电源标签。\n2. 更换输出线。\n3. 额定负载下仍断电：更换电源。",
        "Power supplies",
        ZH,
        True,
        False,
    ),
    (
        "LCD panel flickers or shows lines",
        "The picture flickers, or shows coloured vertical lines, often when the lid moves.",
        "The flat flex cable is not fully latched in its connector.",
        "1. Power off.\n2. Open the connector latch, re-seat the flex cable square.\n"
        "3. Close the latch and test before closing the case.",
        "Displays",
        EN,
        False,
        False,
    ),
    (
        "液晶屏闪烁或出现竖线",
        "画面闪烁或出现彩色竖线，移动屏幕时更明显。",
        "排线没有完全插入卡扣。",
        "1. 关机。\n2. 打开卡扣，把排线重新插正。\n3. 扣好卡扣，装壳前先测试。",
        "Displays",
        ZH,
        False,
        False,
    ),
    (
        "Battery pack does not charge past 80%",
        "The battery stops charging at about 80% and the charge light goes green.",
        "Battery-care mode is on (it limits the charge to make the cells last).",
        "1. Open the device's power settings.\n2. Turn off battery care or 'limit to 80%'.\n"
        "3. Charge again.",
        "Batteries",
        EN,
        True,
        True,
    ),
    (
        "电池充到80%就不再充电",
        "电池充到约80%后停止充电，指示灯变绿。",
        "开启了电池保养模式（限制充电以延长寿命）。",
        "1. 打开设备的电源设置。\n2. 关闭电池保养或“限制到80%”。\n3. 重新充电。",
        "Batteries",
        ZH,
        True,
        True,
    ),
    (
        "USB-C cable charges but does not transfer data",
        "The device charges, but the computer does not see it.",
        "A charge-only cable, or the port is set to charging only.",
        "1. Choose 'File transfer' in the USB prompt on the device.\n"
        "2. Try a cable marked for data.",
        "Cables",
        EN,
        True,
        True,
    ),
]


def load_demo_knowledge(services: Services) -> int:
    """The articles (published), links to closed demo cases and a deflection; 0 if any exist."""
    kb = services.knowledge
    if kb.articles.count():
        return 0
    written = []
    for title, symptom, cause, fix, category, language, visible, alone in ARTICLES:
        written.append(
            kb.articles.create(
                AUTHOR,
                ArticleDraft(
                    title=title,
                    symptom=symptom,
                    cause=cause,
                    fix=fix,
                    categories=(category,),
                    language=language,
                    status=ArticleStatus.PUBLISHED,
                    customer_visible=visible,
                    customer_can_fix_alone=alone,
                ),
            )
        )
    kb.articles.create(
        AUTHOR,
        ArticleDraft(
            title="Heatsink paste dries out (draft)",
            symptom="Temperatures creep up after a year.",
            fix="Being written: re-paste procedure.",
            categories=("Cooling",),
        ),
    )
    with UnitOfWork(services.session_factory) as uow:
        numbers = list(uow.session.scalars(select(Rma.number).order_by(Rma.id).limit(4)))
    for number in numbers[:3]:
        kb.cases.link(AUTHOR, number, written[0].id)
    if numbers:
        kb.cases.link(AUTHOR, numbers[-1], written[3].id)
    kb.cases.solved_on_portal("SO-1002", None, written[0].id)
    return len(written) + 1
