"""A tiny in-memory stand-in for the portal's /api/v1, served through
httpx.MockTransport. It follows the documented contract, records every
request, and can be told to fail."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import unquote_plus

import httpx


def _fold(text: str) -> str:
    d = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in d if unicodedata.category(c) != "Mn").replace("đ", "d")


def procedure(code: str, name: str, **extra: Any) -> dict[str, Any]:
    detail = {
        "code": code,
        "version": 1,
        "name": name,
        "name_en": name,
        "summary": f"Tóm tắt {name}",
        "level": "toan_trinh",
        "level_label": "toàn trình",
        "online": True,
        "online_payment": False,
        "agency": {
            "id": 1,
            "name": "Phòng Giáo dục và Đào tạo Quận 1",
            "address": "1 Lê Duẩn, Quận 1",
            "phone": "028 3829 0000",
            "email": "pgd@q1.example.vn",
            "office_hours": "Thứ 2–6: 7:30–11:30, 13:30–17:00",
        },
        "authority": "Trưởng phòng GD&ĐT",
        "legal_basis": ["Thông tư 21/2019/TT-BGDĐT"],
        "fee": {"amount": 0, "text": "Không thu phí", "payable_online": False},
        "time_limit": {"working_days": 5, "same_day": False, "text": "5 ngày làm việc"},
        "result": {"name": "Quyết định", "delivery": ["online"], "delivery_text": "Trả trực tuyến"},
        "documents": [
            {"key": "don", "name": "Đơn đề nghị", "kind_label": "Bản chính", "quantity": 1, "required": True},
            {
                "key": "cccd",
                "name": "Căn cước công dân",
                "kind_label": "Bản sao",
                "quantity": 1,
                "required": True,
            },
            {
                "key": "uq",
                "name": "Giấy ủy quyền",
                "kind_label": "Bản chính",
                "quantity": 1,
                "required": False,
            },
        ],
        "fields": [],
        "steps": ["Nộp hồ sơ", "Cán bộ thẩm định", "Nhận kết quả"],
        "url": f"/thu-tuc/{code}",
        "apply_url": f"/thu-tuc/{code}/nop-ho-so",
    }
    detail.update(extra)
    return detail


CATALOGUE = [
    procedure("2.002481", "Chuyển trường đối với học sinh trung học cơ sở"),
    procedure(
        "1.005092",
        "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc",
        fee={"amount": 2000, "text": "2.000 đồng/trang, tối đa 100.000 đồng/bản", "payable_online": True},
        time_limit={
            "working_days": None,
            "same_day": True,
            "text": "Trong ngày (sau 15 giờ: ngày làm việc tiếp theo)",
        },
    ),
    procedure("2.001914", "Chỉnh sửa nội dung văn bằng, chứng chỉ"),
    procedure("1.004555", "Thành lập trường tiểu học công lập", online=False, level="mot_phan"),
]


def _error(status: int, code: str, message: str, fields: dict | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return httpx.Response(status, json=body)


class FakePortal:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.catalogue = {p["code"]: p for p in CATALOGUE}
        self.fail_next: list[Any] = []  # status codes or exceptions, consumed in order
        self.applications: dict[str, dict] = {}
        self.callbacks: list[dict] = []
        self.list_all_on_empty_query = False  # the real portal lists everything for q=""

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self) -> list[str]:
        """Requests as "METHOD /path?decoded query", easy to assert on."""
        return [
            f"{r.method} {r.url.path}" + (f"?{unquote_plus(r.url.query.decode())}" if r.url.query else "")
            for r in self.requests
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next:
            failure = self.fail_next.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return _error(failure, "server_error", "Lỗi hệ thống")
        path = request.url.path.removeprefix("/api/v1")
        params = request.url.params
        if request.method == "GET" and path == "/procedures":
            q = _fold(params.get("q", ""))
            words = q.split()
            everything = self.list_all_on_empty_query and not words
            items = [
                {k: p[k] for k in ("code", "name", "name_en", "level", "level_label", "agency", "url")}
                for p in self.catalogue.values()
                # Like the portal: at least 60% of the words must be in the name.
                if everything
                or words
                and sum(w in re.findall(r"\w+", _fold(p["name"])) for w in words) >= 0.6 * len(words)
            ][: int(params.get("limit", 5))]
            return httpx.Response(200, json={"items": items, "total": len(items)})
        if request.method == "GET" and path.startswith("/procedures/"):
            code = path.rsplit("/", 1)[1]
            if code not in self.catalogue:
                return _error(404, "procedure_not_found", "Không tìm thấy thủ tục.")
            return httpx.Response(200, json=self.catalogue[code])
        if request.method == "POST" and path == "/applications":
            body = json.loads(request.content)
            key = request.headers.get("Idempotency-Key")
            if not str(body["applicant"]["phone"]).startswith("09"):
                return _error(
                    422,
                    "validation_error",
                    "Dữ liệu chưa hợp lệ.",
                    {"applicant.phone": "Số điện thoại không đúng."},
                )
            created = self.applications.setdefault(
                key,
                {
                    "id": f"D{len(self.applications) + 1:04d}",
                    "status": "draft",
                    "procedure_code": body["procedure_code"],
                    "resume_url": f"/ho-so/nhap/{len(self.applications) + 1}",
                },
            )
            return httpx.Response(201, json=created)
        if request.method == "GET" and path.startswith("/applications/"):
            code = path.rsplit("/", 1)[1]
            if code == "H29.12.10-261128-0429":
                return _error(429, "rate_limited", "Bạn tra cứu quá nhiều lần, vui lòng thử lại sau.")
            if code != "H29.12.10-261128-0001" or params.get("phone") != "0912345678":
                return _error(404, "case_not_found", "Không tìm thấy hồ sơ với mã và số điện thoại này.")
            return httpx.Response(
                200,
                json={
                    "case_code": code,
                    "procedure": {"code": "2.002481", "name": "Chuyển trường THCS"},
                    "status": "processing",
                    "status_label": "Đang thẩm định",
                    "submitted_at": "2026-11-28T09:00:00+07:00",
                    "due_date": "2026-12-05",
                    "due_date_text": "05/12/2026",
                    "timeline": [
                        # as the portal's API answers: the moment in UTC plus its local text
                        {
                            "at": "2026-11-28T02:00:00Z",
                            "at_text": "09:00 28/11/2026",
                            "label": "Tiếp nhận",
                            "comment": "",
                        },
                        # an older portal without at_text: the action converts the UTC moment itself
                        {"at": "2026-11-28T07:00:00Z", "label": "Chuyển thẩm định", "comment": "Đủ hồ sơ"},
                    ],
                },
            )
        if request.method == "GET" and path == "/agencies":
            return httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "id": 1,
                            "name": "Phòng Giáo dục và Đào tạo Quận 1",
                            "address": "1 Lê Duẩn",
                            "phone": "028 3829 0000",
                            "email": "pgd@q1.example.vn",
                            "office_hours": "Thứ 2–6: 7:30–11:30, 13:30–17:00",
                            "hotline": "1900 0000",
                        }
                    ]
                },
            )
        if request.method == "GET" and path == "/fees/invoices":
            if (params.get("student_code"), params.get("link_code")) != ("HS12345678", "ABCD2345"):
                return _error(404, "student_not_found", "Không tìm thấy học sinh.")
            return httpx.Response(
                200,
                json={
                    "student": {
                        "code": "HS12345678",
                        "name": "Nguyễn Minh Khôi",
                        "school": "THCS Lê Lợi",
                        "class": "7A",
                    },
                    "items": [
                        {
                            "reference": "HP-11",
                            "title": "Học phí tháng 11",
                            "amount": 300000,
                            "amount_text": "300.000 đ",
                            "due_date": "2026-11-30",
                            "due_date_text": "30/11/2026",
                            "status": "unpaid",
                            "status_label": "Chưa nộp",
                            "pay_url": "/thanh-toan/HP-11",
                        }
                    ],
                    "total_due": 300000,
                    "total_due_text": "300.000 đ",
                    "pay_url": "/thanh-toan/hs/HS12345678",
                },
            )
        if request.method == "POST" and path == "/callbacks":
            self.callbacks.append(json.loads(request.content))
            return httpx.Response(201, json={"id": len(self.callbacks)})
        return _error(404, "not_found", "Không tìm thấy.")
