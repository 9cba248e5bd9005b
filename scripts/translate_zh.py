"""Fill admin/translations/zh_Hans_CN from the table below (kept here so the
Chinese wording is reviewed in one place). Run after `pybabel update`."""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

ZH = {
    "Grid–court enforcement linkage": "基层网格和人民法院执行联动",
    "Courts and tribunals": "法院及人民法庭",
    "Standard addresses": "标准地址",
    "County": "县（市、区）",
    "Towns": "镇（街）",
    "Villages": "村（社区）",
    "Liaisons": "联络员",
    "Grid workers": "网格员",
    'No divisions yet: run "gridlink seed demo" or import boundaries.':
        "尚无行政区划：请运行“gridlink seed demo”或导入边界。",
    "Gridlink": "网格执行联动",
    "Dashboard": "首页",
    "Grids": "网格",
    "Courts and roster": "法院与联络员",
    "Divisions and grids": "区划与网格",
    "Boundary history": "边界历史",
    "Boundary generations": "边界版本",
    "Courts": "法院",
    "Liaison roster": "联络员名单库",
    "People": "人员",
    "Town / street": "镇（街道）",
    "Village / community": "村（社区）",
    "Micro-grid": "微网格",
    "Level": "层级",
    "Division code": "区划代码",
    "Name": "名称",
    "Parent": "上级",
    "Area (km²)": "面积（平方公里）",
    "From generation": "起始版本",
    "Through generation": "截止版本",
    "Boundary": "边界",
    "new grid": "新增网格",
    "redrawn": "重绘边界",
    "bbox=west,south,east,north and a level are required": "需要 bbox=西,南,东,北 和层级参数",
    "Choose a level.": "请选择层级。",
    "A county has no parent.": "县级区划没有上级。",
    "The parent of a %(level)s must be a %(parent)s.": "%(level)s的上级必须是%(parent)s。",
    "Division code: %(reason)s": "区划代码：%(reason)s",
    "The boundary must be a polygon, not %(kind)s.": "边界必须是面（多边形），而不是 %(kind)s。",
    "The boundary is not a valid polygon: %(reason)s": "边界不是有效的多边形：%(reason)s",
    "Generation": "版本",
    "Description": "说明",
    "Valid from": "生效日期",
    "Created at": "创建时间",
    "Intermediate court": "中级人民法院",
    "Base court": "基层人民法院",
    "People's tribunal": "人民法庭",
    "Liaison": "联络员",
    "Grid worker": "网格员",
    "Kind": "类别",
    "Parent court": "上级法院",
    "Case number code": "案号代字",
    "County code": "县级代码",
    "Address": "地址",
    "Phone": "电话",
    "Contact": "联系人",
    "Contact phone": "联系电话",
    "Grids served": "辖区网格",
    "Tribunals": "人民法庭",
    "A people's tribunal belongs to a base court: choose it.":
        "人民法庭隶属于基层法院，请选择上级法院。",
    "A court cannot be its own parent.": "法院不能以自身为上级。",
    "Grid": "网格",
    "Role": "角色",
    "Title": "职务",
    "Valid to": "截止日期",
    "The end date must come after the start date.": "截止日期必须晚于生效日期。",
    "%(grid)s already has a liaison, %(name)s: give that entry an end date first.":
        "%(grid)s已有现任联络员%(name)s：请先填写其截止日期。",
    "Road": "道路",
    "House number": "门牌号",
    "Location": "位置",
    "code %(code)s must contain digits only": "代码 %(code)s 只能包含数字",
    "this level's codes have %(n)d digits; %(code)s has %(got)d":
        "该层级代码为 %(n)d 位，%(code)s 为 %(got)d 位",
    "%(code)s must end in zeros after digit %(end)d": "%(code)s 第 %(end)d 位之后必须为 0",
    "digits %(first)d–%(end)d of %(code)s identify this division and cannot all be zero":
        "%(code)s 的第 %(first)d–%(end)d 位是本级编号，不能全为 0",
    "%(code)s needs a parent division": "%(code)s 需要上级区划",
    "%(code)s does not start with its parent's digits %(prefix)s":
        "%(code)s 未以上级代码 %(prefix)s 开头",
    "User name": "用户名",
    "Password": "密码",
    "Current password": "当前密码",
    "New password": "新密码",
    "New password again": "再次输入新密码",
    "The two do not match.": "两次输入不一致。",
    "Too many failed sign-ins. Try again after %(time)s.":
        "登录失败次数过多，请于 %(time)s 后再试。",
    "Wrong user name or password.": "用户名或密码错误。",
    "The current password is wrong.": "当前密码不正确。",
    "Password changed.": "密码已修改。",
    "Sign in": "登录",
    "Sign out": "退出",
    "Change password": "修改密码",
    "At least 10 characters, with letters and digits.":
        "至少 10 个字符，须同时包含字母和数字。",
    "System": "系统",
    "Accounts": "账号",
    "API tokens": "接口令牌",
    "Audit trail": "审计日志",
    "Administrator": "系统管理员",
    "Political-legal committee": "政法委",
    "Town grid centre": "镇（街）微网格治理服务中心",
    "Court staff": "法院执行干警",
    "Court": "法院",
    "Active": "启用",
    "Last sign-in": "最近登录",
    "Must change password": "须修改密码",
    "Give the new account a password.": "请为新账号设置密码。",
    "Court staff belong to a court: choose it.": "法院执行干警须隶属于法院，请选择。",
    "This role answers for a grid: choose it.": "该角色须对应一个网格，请选择。",
    "%(role)s cannot answer for a grid of this level.": "%(role)s不能对应该层级的网格。",
    "Token": "令牌",
    "Last used": "最近使用",
    "Revoked at": "吊销时间",
    "Copy the token now; it will not be shown again: %(token)s":
        "请立即复制令牌，之后不再显示：%(token)s",
    "Revoke": "吊销",
    "Revoke the selected tokens?": "确定吊销所选令牌？",
    "%(n)d tokens revoked.": "已吊销 %(n)d 个令牌。",
    "No.": "序号",
    "Time": "时间",
    "Who": "操作人",
    "From": "来源地址",
    "Action": "操作",
    "Record": "对象",
    "Record id": "对象编号",
    "Before": "修改前",
    "After": "修改后",
    "Show": "显示",
    "a password needs at least %(n)d characters": "密码至少需要 %(n)d 个字符",
    "a password needs both letters and digits": "密码须同时包含字母和数字",
    "a password may not contain the user name": "密码不能包含用户名",
    "this password is too common": "该密码过于常见",
    "Back to the dashboard": "返回首页",
    "Import boundaries": "导入边界",
    "WGS84 / CGCS2000 (GPS, Tianditu)": "WGS84 / CGCS2000（GPS、天地图）",
    "GCJ-02 (AMap, Tencent maps)": "GCJ-02（高德、腾讯地图）",
    "ok": "通过",
    "repaired": "已修复",
    "unchanged": "未变化",
    "rejected": "拒绝",
    "Boundary file": "边界文件",
    "Coordinates": "坐标系",
    "From each code": "按区划代码判断",
    "Write the good features, leave out the rejected ones": "只写入通过的要素，跳过被拒绝的",
    "Write even though the result breaks the tiling (recorded)":
        "即使结果存在重叠或缝隙也写入（将记录在案）",
    "Choose a GeoJSON, zipped Shapefile (.zip), GeoPackage (.gpkg) or KML (.kml) file.":
        "请选择 GeoJSON、Shapefile 压缩包（.zip）、GeoPackage（.gpkg）或 KML（.kml）文件。",
    "Some features were rejected: tick the box to write only the good ones.":
        "部分要素被拒绝：如只写入通过的要素，请勾选相应选项。",
    "The result would overlap or leave gaps: fix the file, or tick the box to write it anyway.":
        "写入后将出现重叠或缝隙：请修正文件，或勾选选项后仍然写入。",
    "Written as a new boundary generation: %(g)s": "已写入新的边界版本：%(g)s",
    "Nothing to write: every good feature is unchanged.": "无需写入：通过的要素均未变化。",
    "A GeoJSON, zipped Shapefile, GeoPackage or KML file of town or village boundaries. Nothing is written until you have seen the report and confirmed it.":
        "上传镇、村边界文件（GeoJSON、Shapefile 压缩包、GeoPackage 或 KML）。查看检查报告并确认之前不会写入任何数据。",
    "Check the file": "检查文件",
    "Result": "结果",
    "Change": "变化",
    "Reason": "原因",
    "After the import the grids would have these problems:": "导入后网格将出现以下问题：",
    "Write as a new boundary generation": "写入为新的边界版本",
    "Cancel": "取消",
    "Topology check": "拓扑检查",
    "Invalid polygon": "无效多边形",
    "Outside its parent": "超出上级范围",
    "Overlap": "重叠",
    "Gap": "缝隙",
    "Sliver": "碎片",
    "Tolerance (metres)": "容差（米）",
    "Check again": "重新检查",
    "Problem": "问题",
    "Area (m²)": "面积（平方米）",
    "No problems found: the grids tile their parents cleanly.":
        "未发现问题：各网格完整覆盖上级区域，无重叠、无缝隙。",
    "Save even though it overlaps a neighbour or leaves its parent (recorded)":
        "仍然保存（与相邻网格重叠或超出上级范围，将记录在案）",
    "Correct the boundary, or tick the box below to save it anyway.":
        "请修正边界，或勾选下方选项后仍然保存。",
    "Overlaps %(name)s by %(area).0f m² near %(where)s.":
        "与%(name)s重叠 %(area).0f 平方米（位置约 %(where)s）。",
    "Lies %(area).0f m² outside its parent %(name)s near %(where)s.":
        "超出上级%(name)s %(area).0f 平方米（位置约 %(where)s）。",
    "created": "新增",
    "changed": "修改",
    "deleted": "删除",
    "signed in": "登录",
    "failed sign-in": "登录失败",
    "signed out": "退出",
    "phone shown": "查看电话",
    "demo loaded": "载入演示数据",
    "Roster": "联络员名单",
    "Account": "账号",
    "Database": "数据库",
    "Person": "人员",
    "Not allowed": "无权访问",
    "Your account may not open this page or change this record.":
        "您的账号无权打开此页面或修改此记录。",
}

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "admin/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def main() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh_Hans_CN")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if message.id in ZH:
            message.string = ZH[message.id]
            message.flags.discard("fuzzy")
        else:
            missing.append(message.id)
    with PO.open("wb") as f:
        write_po(f, catalog, width=100)
    if missing:
        raise SystemExit("no Chinese for: " + "; ".join(map(str, missing)))


if __name__ == "__main__":
    main()
