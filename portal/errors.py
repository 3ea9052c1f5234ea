"""Domain exceptions carrying an HTTP status and a stable machine-readable code.

They are mapped once per app: JSON for /api, an HTML page for the rest.
"""

from __future__ import annotations


class PortalError(Exception):
    status = 400
    code = "bad_request"
    message = "Yêu cầu không hợp lệ."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields or {}


class NotFound(PortalError):
    status = 404
    code = "not_found"
    message = "Không tìm thấy trang hoặc dữ liệu bạn yêu cầu."


class ProcedureNotFound(NotFound):
    code = "procedure_not_found"
    message = "Không có thủ tục này trong danh mục."


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = "Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này."


class ValidationFailed(PortalError):
    status = 422
    code = "validation_error"
    message = "Thông tin chưa hợp lệ; vui lòng kiểm tra các mục được đánh dấu."


class Conflict(PortalError):
    status = 409
    code = "conflict"
    message = "Hồ sơ vừa được thay đổi bởi một thao tác khác; vui lòng tải lại trang."


class Forbidden(PortalError):
    status = 403
    code = "forbidden"
    message = "Bạn không có quyền thực hiện thao tác này."


class Unauthorized(PortalError):
    status = 401
    code = "unauthorized"
    message = "Vui lòng đăng nhập để tiếp tục."


class RateLimited(PortalError):
    status = 429
    code = "rate_limited"
    message = "Bạn đã thao tác quá nhiều lần; vui lòng thử lại sau ít phút."


class CsrfFailed(PortalError):
    status = 403
    code = "csrf_failed"
    message = "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ; vui lòng tải lại trang và gửi lại."
