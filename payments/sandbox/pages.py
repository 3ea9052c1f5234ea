"""Self-contained Vietnamese HTML for the sandbox payment page (no CDN, no scripts)."""

from __future__ import annotations

from html import escape

from payments.sandbox.config import IpnKnobs
from payments.sandbox.state import SandboxTransaction
from payments.vnpay_codec import parse_date

# (vnp_ResponseCode, vnp_TransactionStatus, label) the tester can choose.
OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("00", "00", "Thanh toán thành công"),
    ("24", "02", "Khách hàng hủy giao dịch"),
    ("51", "02", "Tài khoản không đủ số dư"),
    ("11", "02", "Hết hạn chờ thanh toán"),
    ("07", "07", "Trừ tiền thành công nhưng giao dịch bị nghi ngờ gian lận"),
)
OUTCOME_STATUS = {code: status for code, status, _ in OUTCOMES}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
background:#f3f5f8;color:#1b1b1b;line-height:1.5}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
.banner{background:#ffdd00;color:#000;padding:.5rem 1rem;font-weight:bold;text-align:center}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:bold}
fieldset{border:1px solid #b1b4b6;border-radius:4px;margin:1rem 0;padding:.5rem 1rem}
legend{font-weight:bold;padding:0 .25rem}
.choice{display:block;margin:.4rem 0}label{cursor:pointer}
input[type=text],input[type=number],select{font:inherit;padding:.25rem;border:2px solid #0b0c0c}
button{font:inherit;font-weight:bold;background:#005ea5;color:#fff;border:0;padding:.6rem 1.4rem;
border-radius:4px;cursor:pointer}
:focus-visible{outline:3px solid #fd0;outline-offset:2px}
.error{border-left:5px solid #d4351c;padding-left:1rem}
.hint{color:#505a5f;font-size:.9rem}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} – Cổng thanh toán VNPAY (thử nghiệm)</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        '<p class="banner" role="note">Môi trường thử nghiệm – không có giao dịch thật</p>\n'
        f"<main>\n<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def vnd(amount_x100: int) -> str:
    return f"{amount_x100 // 100:,}".replace(",", ".") + " ₫"


def _when(value: str) -> str:
    try:
        return parse_date(value).strftime("%H:%M:%S ngày %d/%m/%Y")
    except ValueError:
        return value


def error_page(code: str, message: str) -> str:
    body = (
        f'<div class="error" role="alert"><p>{escape(message)}</p>'
        f'<p id="error-code">Mã lỗi: {escape(code)}</p></div>'
    )
    return _page("Giao dịch không hợp lệ", body)


def payment_page(txn: SandboxTransaction, action: str, knobs: IpnKnobs, allow_overrides: bool) -> str:
    choices = "\n".join(
        f'<div class="choice"><input type="radio" id="outcome-{code}" name="outcome" value="{code}"'
        f"{' checked' if code == '00' else ''}>"
        f' <label for="outcome-{code}">{escape(label)} (mã {code}/{status})</label></div>'
        for code, status, label in OUTCOMES
    )
    options = _knob_fields(knobs) if allow_overrides else ""
    body = f"""
<dl>
<dt>Mã website (TmnCode)</dt><dd>{escape(txn.tmn_code)}</dd>
<dt>Mã giao dịch</dt><dd id="txn-ref">{escape(txn.txn_ref)}</dd>
<dt>Nội dung</dt><dd>{escape(txn.order_info)}</dd>
<dt>Số tiền</dt><dd id="amount">{escape(vnd(txn.amount_x100))}</dd>
<dt>Hạn thanh toán</dt><dd>{escape(_when(txn.expire_date))}</dd>
</dl>
<form method="post" action="{escape(action)}" novalidate>
<input type="hidden" name="token" value="{escape(txn.token)}">
<fieldset>
<legend>Chọn kết quả giao dịch</legend>
{choices}
</fieldset>
{options}
<button type="submit">Xác nhận</button>
</form>"""
    return _page("Thanh toán qua VNPAY", body)


def _knob_fields(knobs: IpnKnobs) -> str:
    before = " selected" if knobs.order == "before" else ""
    after = " selected" if knobs.order == "after" else ""
    amount = "" if knobs.amount_vnd is None else str(knobs.amount_vnd)
    return f"""<details>
<summary>Tùy chọn kiểm thử IPN (thông báo kết quả tới máy chủ bán hàng)</summary>
<input type="hidden" name="ipn_form" value="1">
<fieldset>
<legend>Cách gửi IPN</legend>
<p><label for="ipn_duplicates">Số bản gửi đồng thời</label><br>
<input type="number" id="ipn_duplicates" name="ipn_duplicates" min="1" max="20"
 value="{knobs.duplicates}"></p>
<p><label for="ipn_order">Thời điểm gửi so với chuyển hướng trình duyệt</label><br>
<select id="ipn_order" name="ipn_order"><option value="after"{after}>Sau khi chuyển hướng</option>
<option value="before"{before}>Trước khi chuyển hướng</option></select></p>
<p><label for="ipn_delay_s">Độ trễ trước lần gửi đầu (giây)</label><br>
<input type="number" id="ipn_delay_s" name="ipn_delay_s" min="0" step="0.1" value="{knobs.delay_s}"></p>
<p><input type="checkbox" id="ipn_drop" name="ipn_drop" value="1"{" checked" if knobs.drop else ""}>
 <label for="ipn_drop">Làm mất IPN (không gửi)</label></p>
<p><label for="ipn_tamper">Sửa giá trị tham số sau khi ký (tên tham số vnp_…)</label><br>
<input type="text" id="ipn_tamper" name="ipn_tamper" value="{escape(knobs.tamper or "")}"
 aria-describedby="ipn_tamper-hint">
<span class="hint" id="ipn_tamper-hint">Máy chủ bán hàng phải trả lời 97 (sai chữ ký).</span></p>
<p><label for="ipn_amount_vnd">Gửi số tiền khác (đồng, có chữ ký hợp lệ)</label><br>
<input type="number" id="ipn_amount_vnd" name="ipn_amount_vnd" min="1" value="{amount}"
 aria-describedby="ipn_amount_vnd-hint">
<span class="hint" id="ipn_amount_vnd-hint">Máy chủ bán hàng phải trả lời 04 (sai số tiền).</span></p>
</fieldset>
</details>"""
