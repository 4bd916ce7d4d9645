"""The zh_CN catalog as data: `python tools/zh_CN.py` writes messages.po and compiles messages.mo.

Edit the table, run the script, commit both files (tests check nothing is missing)."""
ZH = {
    "There is nothing at this address.": "此地址没有内容。",
    "This address does not take that method.": "此地址不支持该请求方法。",
    "The request is too large.": "请求内容过大。",
    "The request is malformed.": "请求格式有误。",
    "The request failed.": "请求失败。",
    "Something went wrong on the server; it has been logged.": "服务器出错，已记录日志。",
    "Sign in or send a valid token.": "请先登录或提供有效令牌。",
    "Your role (%(role)s) may not do this; it needs: %(roles)s.": "您的角色（%(role)s）无权执行此操作，需要：%(roles)s。",
    "You act for window %(mine)s, not window %(window)s.": "您只能操作 %(mine)s 号窗口，不能操作 %(window)s 号窗口。",
    "The body is not valid JSON.": "请求体不是有效的 JSON。",
    "The body must be a JSON object.": "请求体必须是 JSON 对象。",
    "Some fields are wrong: %(fields)s.": "以下字段有误：%(fields)s。",
    "No ticket has this address.": "没有与此地址对应的号票。",
    "This pad is not bound to a window.": "此评价器未绑定窗口。",
    "A clerk signs in at a window; give its number.": "窗口人员须在窗口登录，请填写窗口号。",
    "Employee number %(employee_no)s already has an account.": "工号 %(employee_no)s 已有账号。",
    "A device named %(name)s already exists.": "名为 %(name)s 的设备已存在。",
    "Wrong employee number or password.": "工号或密码错误。",
    "%(path)s exists already; it was left as it is.": "%(path)s 已存在，未作改动。",
    "Hall written to %(path)s.": "大厅配置已写入 %(path)s。",
    "qrate is serving %(hall)s at http://%(host)s:%(port)s/": "qrate 正在为 %(hall)s 服务：http://%(host)s:%(port)s/",
    "Password": "密码",
    "Password again": "再次输入密码",
    "The two passwords differ.": "两次输入的密码不一致。",
    "The password needs at least 6 characters.": "密码至少需要 6 个字符。",
    "Account %(employee_no)s (%(role)s) added.": "账号 %(employee_no)s（%(role)s）已添加。",
    "A %(kind)s belongs to a window: add --window N.": "%(kind)s 设备须属于某个窗口：请加 --window N。",
    "Window %(window)s does not exist; known: %(known)s.": "%(window)s 号窗口不存在；现有窗口：%(known)s。",
    "Device %(name)s (%(kind)s) added. Open its page once with ?token=... ; the token:": "设备 %(name)s（%(kind)s）已登记。首次打开页面时加上 ?token=...；令牌如下：",
    "Demo accounts: employee numbers 1001-1008 (clerks) and 9001 (manager), password demo1234.": "演示账号：工号 1001-1008（窗口人员）和 9001（管理人员），密码 demo1234。",
    "Device pages (also in %(path)s):": "设备页面（也保存在 %(path)s）：",
    "The request cannot be carried out.": "无法执行此请求。",
    "Service '%(service)s' does not exist; known: %(known)s.": "业务“%(service)s”不存在；现有业务：%(known)s。",
    "Ticket %(ticket)s does not exist.": "号票 %(ticket)s 不存在。",
    "Ticket %(number)s is %(status)s; this needs a ticket that is %(needed)s.": "号票 %(number)s 当前为“%(status)s”，此操作需要“%(needed)s”状态的号票。",
    "Ticket %(number)s is not being served at window %(window)s.": "号票 %(number)s 不在 %(window)s 号窗口办理中。",
    "%(name)s is not open now; opening hours: %(hours)s.": "%(name)s 当前不在办理时间；办理时间：%(hours)s。",
    "%(name)s has issued all %(cap)s tickets for today.": "%(name)s 今日 %(cap)s 个号已全部发完。",
    "%(name)s has issued all %(cap)s tickets for %(slot)s; please come back in the next time slot.": "%(name)s 在 %(slot)s 时段的 %(cap)s 个号已发完，请在下一时段取号。",
    "Window %(window)s is %(status)s; resume it first.": "%(window)s 号窗口当前为“%(status)s”，请先恢复办理。",
    "Window %(window)s is still serving %(number)s; finish, park or mark it no-show first.": "%(window)s 号窗口仍在办理 %(number)s，请先办结、挂起或标记过号。",
    "Window %(window)s does not serve %(service)s.": "%(window)s 号窗口不办理 %(service)s 业务。",
    "Ticket %(number)s has been rated already.": "号票 %(number)s 已评价过。",
    "Ticket %(number)s cannot be rated here: %(why)s.": "号票 %(number)s 不能在此评价：%(why)s。",
    "Ticket %(number)s is already in that queue.": "号票 %(number)s 已在该队列中。",
    "it has not been served": "尚未办结",
    "it was served at another window": "在其他窗口办理",
    "the time for rating it has passed": "已超过评价时限",
    "waiting": "等候中", "called": "已叫号", "parked": "挂起", "done": "已办结",
    "no_show": "过号", "cancelled": "已取消", "open": "办理中", "paused": "暂停",
    "closed": "关闭",
    "qrate": "qrate 排队叫号",
    "This page is being built.": "此页面正在建设中。",
}


def main() -> None:
    import io
    from pathlib import Path

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    folder = Path(__file__).resolve().parent.parent / "server/translations/zh_CN/LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    cat = Catalog(locale="zh_CN", project="qrate", charset="utf-8")
    for msgid, text in sorted(ZH.items()):
        cat.add(msgid, text)
    buf = io.BytesIO()
    write_po(buf, cat, omit_header=False, sort_output=True)
    (folder / "messages.po").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    write_mo(buf, cat)
    (folder / "messages.mo").write_bytes(buf.getvalue())


if __name__ == "__main__":
    main()
