"""Questions about a procedure: resolve it through the portal, answer from it.

Nothing about a procedure is stored here: names, documents, fees, deadlines
and links all come from GET /api/v1/procedures[/{code}] at run time. The NLU
synonyms only turn what people type into a code or a search text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import absolute_url, apologise_unavailable, portal_client
from actions.portal import PortalClient, PortalRejected, PortalUnavailable
from components.vietnamese_text import fold

CODE_RE = re.compile(r"^\d\.\d{6}$")

# Which answer each question intent wants.
TOPIC_BY_INTENT = {
    "ask_documents": "documents",
    "ask_time_limit": "time_limit",
    "ask_fee": "fee",
    "ask_where_submit": "where",
    "ask_how_to_apply": "how",
    "ask_online": "online",
}
INTENT_BY_TOPIC = {v: k for k, v in TOPIC_BY_INTENT.items()}

# Question words removed before a free-text search (folded forms). What is
# left is likely the procedure's name; it is only a fallback when NLU found
# no procedure entity.
_QUESTION_WORDS = set(
    [
        "cho",
        "hoi",
        "minh",
        "toi",
        "em",
        "anh",
        "chi",
        "ban",
        "ad",
        "admin",
        "oi",
        "a",
        "ah",
        "nhe",
        "nha",
        "vay",
        "the",
        "thi",
        "la",
        "co",
        "khong",
        "ko",
        "k",
        "duoc",
        "dc",
        "can",
        "nhung",
        "gi",
        "j",
        "nao",
        "giay",
        "to",
        "ho",
        "so",
        "hs",
        "thu",
        "tuc",
        "lam",
        "sao",
        "ntn",
        "nhu",
        "bao",
        "lau",
        "nhieu",
        "bn",
        "ngay",
        "mat",
        "het",
        "tien",
        "le",
        "phi",
        "phi",
        "o",
        "dau",
        "nop",
        "online",
        "truc",
        "tuyen",
        "qua",
        "mang",
        "cach",
        "huong",
        "dan",
        "quy",
        "trinh",
        "cac",
        "buoc",
        "xin",
        "muon",
        "phai",
        "chuan",
        "bi",
        "gom",
        "mang",
        "theo",
        "tu",
        "ve",
        "cua",
        "con",
        "chau",
        "be",
        "thoi",
        "gian",
        "ket",
        "qua",
        "khi",
        "giai",
        "quyet",
        "bay",
        "gio",
        "di",
        "den",
        "tai",
        "co",
        "quan",
        "nay",
        "do",
        "ay",
    ]
)


@dataclass
class Resolution:
    """Outcome of looking a procedure up: one detail, several choices, or none."""

    detail: dict | None = None
    choices: list[dict] = field(default_factory=list)
    query: str | None = None  # what we searched for, to quote when nothing matched
    approximate: bool = False  # found by search, and the name lacks some searched word


def procedure_entities(tracker: Tracker) -> list[dict[str, Any]]:
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    found = []
    for entity in message.get("entities") or []:
        if entity.get("entity") != "procedure" or not entity.get("value"):
            continue
        raw = entity.get("value")
        if entity.get("start") is not None and entity.get("end") is not None:
            raw = text[entity["start"] : entity["end"]] or raw
        found.append({"value": str(entity["value"]), "raw": str(raw)})
    # Codes first (synonym-mapped, unambiguous), then longer spans.
    found.sort(key=lambda e: (not CODE_RE.match(e["value"]), -len(e["raw"])))
    return found


def free_text_query(text: str) -> str:
    """Drop question words: "cho hoi thanh lap truong thcs can gi" -> "thanh lap truong thcs"."""
    if not text or text.startswith("/"):
        return ""
    words = re.findall(r"\w+", fold(text))
    return " ".join(w for w in words if w not in _QUESTION_WORDS)


async def _detail_or_none(client: PortalClient, code: str) -> dict | None:
    try:
        return await client.get_procedure(code)
    except PortalRejected as exc:
        if exc.status == 404:
            return None
        raise


async def _search(client: PortalClient, query: str) -> Resolution:
    items = await client.search_procedures(query, limit=5)
    if not items:
        return Resolution(query=query)
    if len(items) == 1:
        detail = await client.get_procedure(items[0]["code"])
        return Resolution(detail=detail, query=query, approximate=not _names_all(query, detail["name"]))
    # Several hits: take the one whose name contains the whole query, if only one does.
    folded_query = fold(query)
    containing = [i for i in items if folded_query and folded_query in fold(i.get("name", ""))]
    if len(containing) == 1:
        return Resolution(detail=await client.get_procedure(containing[0]["code"]), query=query)
    return Resolution(choices=items, query=query)


def _names_all(query: str, name: str) -> bool:
    """Does the procedure's name contain every word of the query (folded)?"""
    name_words = set(re.findall(r"\w+", fold(name)))
    return all(w in name_words for w in re.findall(r"\w+", fold(query)))


async def resolve_value(client: PortalClient, value: str, raw: str | None = None) -> Resolution:
    """A code -> its detail (search by the typed words if the code is unknown); text -> search."""
    value = (value or "").strip()
    if CODE_RE.match(value):
        detail = await _detail_or_none(client, value)
        if detail is not None:
            return Resolution(detail=detail)
        return await _search(client, raw) if raw and raw != value else Resolution(query=raw)
    return await _search(client, value)


async def resolve_procedure(client: PortalClient, tracker: Tracker) -> Resolution:
    """Entity in this message > free text of a question > procedure slot.

    When the user named something that the catalogue does not have, say so
    rather than falling back to an earlier procedure. Free text is searched
    only for questions: a bare "inform" without a procedure is usually a
    name or a phone number typed out of context.
    """
    miss: Resolution | None = None
    for entity in procedure_entities(tracker):
        found = await resolve_value(client, entity["value"], entity["raw"])
        if found.detail or found.choices:
            return found
        miss = found
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    is_question = intent in TOPIC_BY_INTENT
    query = free_text_query((tracker.latest_message or {}).get("text", "")) if is_question else ""
    if query and (miss is not None or len(query.split()) >= 2):
        found = await _search(client, query)
        if found.detail or found.choices:
            return found
        miss = miss or found
    if miss is not None:
        return miss
    slot = tracker.get_slot("procedure")
    if slot:
        return await resolve_value(client, str(slot))
    return Resolution()


def choice_buttons(items: list[dict], intent: str = "inform") -> list[dict[str, str]]:
    return [
        {"title": item["name"], "payload": f"/{intent}" + json.dumps({"procedure": item["code"]})}
        for item in items
    ]


# ---- answers ----------------------------------------------------------------
def _sentence(text: str) -> str:
    """End a portal-supplied text with exactly one full stop."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _documents(p: dict) -> str:
    docs = p.get("documents") or []
    if not docs:
        return f"Thủ tục «{p['name']}» hiện chưa công bố danh mục giấy tờ trên cổng."
    lines = [f"Hồ sơ thủ tục «{p['name']}» gồm:"]
    for d in docs:
        extra = [
            x for x in (d.get("kind_label"), f"số lượng: {d['quantity']}" if d.get("quantity") else None) if x
        ]
        line = f"• {d['name']}"
        if extra:
            line += f" ({', '.join(extra)})"
        if d.get("required") is False:
            line += " – nếu có"
        lines.append(line)
    return "\n".join(lines)


def _time_limit(p: dict) -> str:
    t = p.get("time_limit") or {}
    text = t.get("text") or (
        f"{t['working_days']} ngày làm việc" if t.get("working_days") else "chưa công bố"
    )
    return f"Thời hạn giải quyết thủ tục «{p['name']}»: {_sentence(text)}"


def _fee(p: dict) -> str:
    f = p.get("fee") or {}
    text = f.get("text") or ("Không thu phí" if f.get("amount") == 0 else "chưa công bố")
    answer = f"Phí, lệ phí của thủ tục «{p['name']}»: {_sentence(text)}"
    if f.get("amount") and f.get("payable_online"):
        answer += " Bạn có thể thanh toán trực tuyến khi nộp hồ sơ."
    return answer


def _where(p: dict) -> str:
    a = p.get("agency") or {}
    lines = [
        f"Thủ tục «{p['name']}» do "
        f"{a.get('name') or p.get('authority') or 'cơ quan có thẩm quyền'} giải quyết."
    ]
    if a.get("address"):
        lines.append(f"Địa chỉ: {a['address']}")
    if a.get("office_hours"):
        lines.append(f"Giờ tiếp nhận: {a['office_hours']}")
    if a.get("phone"):
        lines.append(f"Điện thoại: {a['phone']}")
    if p.get("online"):
        lines.append("Bạn cũng có thể nộp trực tuyến trên cổng, không cần đến trực tiếp.")
    return "\n".join(lines)


def _how(p: dict) -> str:
    steps = p.get("steps") or []
    lines = [f"Các bước thực hiện thủ tục «{p['name']}»:"]
    lines += [f"{i}. {s}" for i, s in enumerate(steps, 1)] or ["(chưa công bố các bước)"]
    return "\n".join(lines)


def _online(p: dict) -> str:
    if not p.get("online"):
        agency = (p.get("agency") or {}).get("name") or "cơ quan giải quyết"
        return f"Thủ tục «{p['name']}» hiện chưa nhận hồ sơ trực tuyến; bạn nộp trực tiếp tại {agency}."
    answer = (
        f"Có. Thủ tục «{p['name']}» là dịch vụ công trực tuyến {p.get('level_label') or ''}".rstrip() + "."
    )
    if p.get("level") == "mot_phan":
        answer += " Bạn nộp hồ sơ trên mạng nhưng vẫn cần đến nhận kết quả hoặc xuất trình bản gốc."
    if p.get("online_payment"):
        answer += " Có thể thanh toán phí trực tuyến."
    return answer


def _summary(p: dict) -> str:
    parts = [f"Thủ tục «{p['name']}» (mã {p['code']})."]
    if p.get("summary"):
        parts.append(p["summary"])
    if (p.get("time_limit") or {}).get("text"):
        parts.append(f"Thời hạn: {_sentence(p['time_limit']['text'])}")
    if (p.get("fee") or {}).get("text"):
        parts.append(f"Phí, lệ phí: {_sentence(p['fee']['text'])}")
    return " ".join(parts)


ANSWERS = {
    "documents": _documents,
    "time_limit": _time_limit,
    "fee": _fee,
    "where": _where,
    "how": _how,
    "online": _online,
    "summary": _summary,
}

TOPIC_BUTTONS = [
    ("Giấy tờ cần chuẩn bị", "ask_documents"),
    ("Thời hạn giải quyết", "ask_time_limit"),
    ("Phí, lệ phí", "ask_fee"),
    ("Nơi nộp", "ask_where_submit"),
    ("Nộp trực tuyến", "ask_online"),
]


def answer_for(topic: str, procedure: dict, tracker: Tracker) -> tuple[str, list[dict[str, str]]]:
    text = ANSWERS[topic](procedure)
    buttons: list[dict[str, str]] = []
    link = absolute_url(procedure.get("url"), tracker)
    apply_link = absolute_url(procedure.get("apply_url"), tracker)
    code = json.dumps({"procedure": procedure["code"]})
    if topic in ("how", "online") and procedure.get("online") and apply_link:
        text += f"\nNộp hồ sơ trực tuyến: {apply_link}"
        buttons.append({"title": "Nộp hồ sơ ngay", "payload": f"/start_application{code}"})
    elif link:
        text += f"\nChi tiết: {link}"
    if topic == "summary":
        buttons = [{"title": t, "payload": f"/{i}{code}"} for t, i in TOPIC_BUTTONS]
    return text, buttons


class ActionProcedureInfo(Action):
    def name(self) -> str:
        return "action_procedure_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topic = TOPIC_BY_INTENT.get(intent) or tracker.get_slot("procedure_question") or "summary"
        try:
            async with portal_client(tracker) as client:
                found = await resolve_procedure(client, tracker)
        except PortalUnavailable:
            apologise_unavailable(dispatcher)
            return []
        except PortalRejected as exc:
            dispatcher.utter_message(text=exc.message)
            return []

        if found.detail:
            text, buttons = answer_for(topic, found.detail, tracker)
            if found.approximate:
                text = (
                    f"Danh mục không có thủ tục đúng tên «{found.query}»; thủ tục gần nhất là "
                    f"«{found.detail['name']}».\n" + text
                )
            dispatcher.utter_message(text=text, buttons=buttons or None)
            return [
                SlotSet("procedure", found.detail["code"]),
                SlotSet("procedure_name", found.detail["name"]),
                SlotSet("procedure_question", None),
            ]
        keep_topic = SlotSet("procedure_question", None if topic == "summary" else topic)
        if found.choices:
            dispatcher.utter_message(
                text="Bạn hỏi về thủ tục nào dưới đây?", buttons=choice_buttons(found.choices)
            )
            return [keep_topic]
        if found.query:
            dispatcher.utter_message(
                text=(
                    f"Mình không tìm thấy thủ tục nào khớp với «{found.query}» trong danh mục "
                    "thủ tục ngành giáo dục. Bạn thử gõ tên thủ tục khác (ví dụ: chuyển trường, "
                    'cấp bản sao văn bằng, miễn giảm học phí) hoặc nhắn "gặp nhân viên".'
                )
            )
            return [keep_topic, SlotSet("procedure", None)]
        # No procedure named at all: offer the catalogue (an empty search lists
        # the procedures in force) as buttons, if the portal answers.
        try:
            async with portal_client(tracker) as client:
                catalogue = await client.search_procedures("", limit=10)
        except (PortalUnavailable, PortalRejected):
            catalogue = []
        dispatcher.utter_message(
            text="Bạn đang hỏi về thủ tục nào ạ? Bạn gõ tên thủ tục hoặc chọn bên dưới.",
            buttons=choice_buttons(catalogue) or None,
        )
        return [keep_topic]
