"""Demo canned replies for the agent inbox, in both languages (loaded once)."""

from __future__ import annotations

from esimdesk.support.models import CannedReply

CANNED = (
    ("Greeting", "Hello, this is esimdesk support. How can I help you today?",
     "您好，这里是 esimdesk 客服。请问有什么可以帮您？"),
    ("Turn on data roaming",
     "Please open Settings > Mobile data, choose the esimdesk eSIM for mobile data and switch "
     "Data roaming on. Then turn Airplane mode on and off once.",
     "请打开“设置 > 蜂窝网络”，将 esimdesk eSIM 设为蜂窝数据线路并打开“数据漫游”，"
     "然后开关一次飞行模式。"),
    ("QR code will not scan",
     "If the QR code will not scan, add the eSIM by hand: choose 'Enter details manually' and "
     "type the SM-DP+ address and activation code shown on your eSIM page.",
     "如果二维码无法扫描，可以手动添加：选择“手动输入详细信息”，填写 eSIM 页面上显示的 "
     "SM-DP+ 地址和激活码。"),
    ("Renewal reminder",
     "You can renew before your plan ends: the new period starts exactly when the current one "
     "ends, so you never lose connection. Open your eSIM and tap Renew.",
     "您可以在套餐到期前续订：新的有效期会在当前有效期结束时无缝开始，不会断网。"
     "打开您的 eSIM 页面并点击“续订”即可。"),
)


def load_canned_replies() -> int:
    created = 0
    for sort, (title, english, chinese) in enumerate(CANNED):
        _reply, made = CannedReply.objects.get_or_create(
            title=title, defaults={"body_en": english, "body_zh_hans": chinese, "sort": sort})
        created += int(made)
    return created
