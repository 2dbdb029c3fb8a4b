"""Fixed name lists for the demo company (`orderdesk demo`). Data only, no logic.

The userids here are documented in the README; tests and examples rely on zhangsan (sales),
wangfang (finance), liuyang (manager) and admin (admin).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DEMO_YEAR = 2026  # order numbers start at SO-2026-0001 whatever the date (README examples)

COMPANY = "云帆企业服务有限公司"

BUSINESS_LINES: list[tuple[str, str]] = [
    ("IT", "IT 实施"),
    ("CONSULT", "管理咨询"),
    ("BRAND", "品牌设计"),
]

# (key, name, parent key, head userid, wecom id)
DEPARTMENTS: list[tuple[str, str, str | None, str, int]] = [
    ("root", COMPANY, None, "chenjianguo", 1),
    ("office", "总经办", "root", "chenjianguo", 2),
    ("sales", "销售部", "root", "liuyang", 3),
    ("presales", "解决方案部", "root", "sunli", 4),
    ("delivery", "交付中心", "root", "huangwei", 5),
    ("finance", "财务部", "root", "chenlu", 6),
]

# (userid, name, department key, manager userid, roles, hourly cost rate)
STAFF: list[tuple[str, str, str, str | None, tuple[str, ...], str]] = [
    ("admin", "系统管理员", "office", "chenjianguo", ("admin",), "0"),
    ("chenjianguo", "陈建国", "office", None, ("gm",), "800"),
    ("liuyang", "刘洋", "sales", "chenjianguo", ("manager", "sales"), "400"),
    ("zhangsan", "张三", "sales", "liuyang", ("sales",), "260"),
    ("lisi", "李四", "sales", "liuyang", ("sales",), "240"),
    ("wangwu", "王五", "sales", "liuyang", ("sales",), "220"),
    ("zhaoxue", "赵雪", "sales", "liuyang", ("sales",), "230"),
    ("sunli", "孙丽", "presales", "chenjianguo", ("presales", "manager"), "350"),
    ("qianhao", "钱昊", "presales", "sunli", ("presales",), "300"),
    ("huangwei", "黄伟", "delivery", "chenjianguo", ("manager", "pm"), "380"),
    ("zhouqiang", "周强", "delivery", "huangwei", ("pm",), "320"),
    ("wujing", "吴静", "delivery", "huangwei", ("pm",), "320"),
    ("zhengkai", "郑凯", "delivery", "zhouqiang", ("delivery",), "260"),
    ("fengxue", "冯雪", "delivery", "wujing", ("delivery",), "250"),
    ("heming", "何明", "delivery", "zhouqiang", ("delivery",), "240"),
    ("chenlu", "陈璐", "finance", "chenjianguo", ("finance", "manager"), "300"),
    ("wangfang", "王芳", "finance", "chenlu", ("finance",), "220"),
]

SALES_USERIDS = ("zhangsan", "lisi", "wangwu", "zhaoxue", "liuyang")
PM_USERIDS = ("zhouqiang", "wujing", "huangwei")
DELIVERY_USERIDS = ("zhengkai", "fengxue", "heming", "qianhao")

CUSTOMERS: list[tuple[str, str, str]] = [
    ("上海云启科技有限公司", "云启科技", "软件与信息服务"),
    ("杭州星河电子商务有限公司", "星河电商", "电子商务"),
    ("北京华信医疗器械有限公司", "华信医疗", "医疗器械"),
    ("深圳前海联创金融服务有限公司", "联创金融", "金融服务"),
    ("广州南方食品集团有限公司", "南方食品", "食品饮料"),
    ("苏州精工智能制造有限公司", "精工智造", "制造业"),
    ("成都天府文旅发展有限公司", "天府文旅", "文化旅游"),
    ("武汉长江物流有限公司", "长江物流", "交通物流"),
    ("南京金陵地产开发有限公司", "金陵地产", "房地产"),
    ("西安秦川新能源有限公司", "秦川新能源", "能源"),
    ("天津渤海化工股份有限公司", "渤海化工", "化工"),
    ("重庆山城汽车零部件有限公司", "山城汽配", "汽车"),
    ("青岛海韵酒店管理有限公司", "海韵酒店", "酒店餐饮"),
    ("厦门鹭岛教育科技有限公司", "鹭岛教育", "教育"),
    ("长沙湘江传媒有限公司", "湘江传媒", "传媒"),
    ("宁波东海港口服务有限公司", "东海港口", "交通物流"),
    ("合肥科大讯联信息技术有限公司", "讯联信息", "软件与信息服务"),
    ("郑州中原连锁零售有限公司", "中原零售", "零售"),
    ("济南泉城生物医药有限公司", "泉城生物", "生物医药"),
    ("沈阳北方重工装备有限公司", "北方重工", "制造业"),
    ("大连海洋渔业集团有限公司", "海洋渔业", "农林牧渔"),
    ("昆明七彩云南茶业有限公司", "七彩茶业", "食品饮料"),
    ("福州闽江建设工程有限公司", "闽江建设", "建筑工程"),
    ("无锡太湖半导体有限公司", "太湖半导体", "半导体"),
    ("东莞松湖电子科技有限公司", "松湖电子", "电子制造"),
    ("佛山顺德家电有限公司", "顺德家电", "家电"),
    ("珠海横琴跨境贸易有限公司", "横琴贸易", "贸易"),
    ("贵阳数谷大数据有限公司", "数谷大数据", "软件与信息服务"),
    ("南昌赣江服饰有限公司", "赣江服饰", "服装"),
    ("哈尔滨冰城乳业有限公司", "冰城乳业", "食品饮料"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]
CONTACT_TITLES = ["信息部经理", "采购经理", "CIO", "总经理助理", "市场总监", "财务经理", "运营总监"]

# code, name, unit, unit price, cost estimate, billing method, business line code
SERVICE_ITEMS: list[tuple[str, str, str, str, str, str, str]] = [
    ("IT-IMPL-DAY", "系统实施(人天)", "人天", "2000.00", "1100.00", "time_and_materials", "IT"),
    ("IT-DEV-DAY", "定制开发(人天)", "人天", "2500.00", "1400.00", "time_and_materials", "IT"),
    ("IT-LICENSE", "软件许可", "套", "38000.00", "12000.00", "fixed", "IT"),
    ("IT-OPS-MONTH", "运维服务(月)", "月", "6800.00", "3000.00", "subscription", "IT"),
    ("IT-MIGRATE", "数据迁移", "项", "15000.00", "8000.00", "milestone", "IT"),
    ("CS-DIAG", "管理诊断", "项", "45000.00", "20000.00", "milestone", "CONSULT"),
    ("CS-DAY", "顾问服务(人天)", "人天", "3500.00", "1800.00", "time_and_materials", "CONSULT"),
    ("CS-TRAIN", "管理培训(场)", "场", "12000.00", "5000.00", "fixed", "CONSULT"),
    ("CS-RETAINER", "常年顾问(月)", "月", "20000.00", "9000.00", "subscription", "CONSULT"),
    ("BR-VI", "VI 视觉识别系统", "项", "68000.00", "30000.00", "milestone", "BRAND"),
    ("BR-LOGO", "标志设计", "项", "18000.00", "7000.00", "fixed", "BRAND"),
    ("BR-CAMPAIGN", "营销活动创意", "项", "36000.00", "16000.00", "milestone", "BRAND"),
    ("BR-DESIGN-DAY", "设计服务(人天)", "人天", "1800.00", "900.00", "time_and_materials", "BRAND"),
]

# code, name, business line, default billing, field schema, project template code
ORDER_TYPES: list[tuple[str, str, str, str, list[dict[str, Any]], str]] = [
    (
        "IT_IMPL",
        "IT 实施项目",
        "IT",
        "milestone",
        [
            {"key": "site", "label": "实施地点", "type": "string", "required": True, "max": 50},
            {"key": "go_live", "label": "期望上线日期", "type": "date", "required": False},
            {"key": "users", "label": "用户数", "type": "number", "required": False},
        ],
        "TPL_IT",
    ),
    (
        "IT_OPS",
        "IT 运维服务",
        "IT",
        "subscription",
        [
            {
                "key": "sla",
                "label": "服务等级",
                "type": "enum",
                "required": True,
                "options": ["5x8", "7x24"],
            },
            {"key": "months", "label": "服务月数", "type": "number", "required": True},
        ],
        "TPL_OPS",
    ),
    (
        "CONSULT",
        "管理咨询项目",
        "CONSULT",
        "milestone",
        [
            {
                "key": "scope",
                "label": "咨询范围",
                "type": "enum",
                "required": True,
                "options": ["战略", "组织", "流程", "数字化"],
            },
            {
                "key": "sponsor",
                "label": "客户发起人",
                "type": "string",
                "required": False,
                "max": 30,
            },
        ],
        "TPL_CONSULT",
    ),
    (
        "BRAND",
        "品牌设计项目",
        "BRAND",
        "fixed",
        [
            {"key": "brand", "label": "品牌名称", "type": "string", "required": True, "max": 40},
            {"key": "formats", "label": "交付格式", "type": "string", "required": False, "max": 60},
        ],
        "TPL_BRAND",
    ),
]

# Which service items each order type sells (the first is the main line).
TYPE_ITEMS: dict[str, tuple[str, ...]] = {
    "IT_IMPL": ("IT-IMPL-DAY", "IT-LICENSE", "IT-DEV-DAY", "IT-MIGRATE"),
    "IT_OPS": ("IT-OPS-MONTH",),
    "CONSULT": ("CS-DAY", "CS-DIAG", "CS-TRAIN", "CS-RETAINER"),
    "BRAND": ("BR-DESIGN-DAY", "BR-VI", "BR-LOGO", "BR-CAMPAIGN"),
}

SITES = ["上海总部", "杭州工厂", "北京分公司", "深圳研发中心", "苏州园区", "成都基地"]
FORMATS = ["AI/PDF 源文件", "PDF + PNG", "全套源文件与规范手册"]

# code, name, tasks, milestones (offsets in days from the project start)
PROJECT_TEMPLATES: list[tuple[str, str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "TPL_IT",
        "IT 实施标准模板",
        [
            {"title": "项目启动会", "offset_days": 3, "owner_role": "pm"},
            {"title": "需求调研", "offset_days": 14, "owner_role": "delivery"},
            {"title": "系统配置与开发", "offset_days": 45, "owner_role": "delivery"},
            {"title": "数据迁移", "offset_days": 55, "owner_role": "delivery"},
            {"title": "用户培训", "offset_days": 60, "owner_role": "pm"},
        ],
        [
            {"name": "上线", "offset_days": 60},
            {"name": "验收", "offset_days": 75},
        ],
    ),
    (
        "TPL_OPS",
        "运维服务模板",
        [
            {"title": "运维交接", "offset_days": 7, "owner_role": "pm"},
            {"title": "监控与巡检配置", "offset_days": 14, "owner_role": "delivery"},
            {"title": "季度服务报告", "offset_days": 90, "owner_role": "pm"},
        ],
        [{"name": "服务启动", "offset_days": 14}, {"name": "季度评审", "offset_days": 90}],
    ),
    (
        "TPL_CONSULT",
        "咨询项目模板",
        [
            {"title": "访谈与诊断", "offset_days": 14, "owner_role": "delivery"},
            {"title": "方案设计", "offset_days": 35, "owner_role": "pm"},
            {"title": "方案汇报", "offset_days": 45, "owner_role": "pm"},
            {"title": "落地辅导", "offset_days": 75, "owner_role": "delivery"},
        ],
        [{"name": "诊断报告", "offset_days": 20}, {"name": "终期汇报", "offset_days": 60}],
    ),
    (
        "TPL_BRAND",
        "品牌设计模板",
        [
            {"title": "品牌调研", "offset_days": 10, "owner_role": "delivery"},
            {"title": "创意提案", "offset_days": 25, "owner_role": "pm"},
            {"title": "设计深化", "offset_days": 40, "owner_role": "delivery"},
            {"title": "规范手册", "offset_days": 50, "owner_role": "delivery"},
        ],
        [{"name": "初稿确认", "offset_days": 25}, {"name": "终稿交付", "offset_days": 50}],
    ),
]

# Approval thresholds (issue 2): < 50k 销售经理; 50k-500k + 财务; > 500k + 总经理.
FINANCE_FROM = Decimal("50000.00")
GM_ABOVE = Decimal("500000.00")

# Payment-term patterns: (name, percent, trigger) — 2 to 4 installments, percents sum to 100.
PAYMENT_TERMS: list[list[tuple[str, str, str]]] = [
    [("首付款", "30", "on_signing"), ("验收款", "70", "on_milestone")],
    [("预付款", "50", "on_signing"), ("尾款", "50", "on_date")],
    [("首付款", "30", "on_signing"), ("上线款", "40", "on_milestone"), ("验收款", "30", "on_date")],
    [
        ("首付款", "20", "on_signing"),
        ("进度款", "30", "on_date"),
        ("上线款", "30", "on_milestone"),
        ("质保金", "20", "on_date"),
    ],
    [
        ("首付款", "33.33", "on_signing"),
        ("中期款", "33.33", "on_date"),
        ("尾款", "33.34", "on_date"),
    ],
]

PROGRESS_NOTES = [
    "完成客户需求访谈,整理会议纪要",
    "与客户 IT 部门确认接口方案",
    "提交阶段成果,客户反馈良好",
    "现场培训 20 人,问题已记录",
    "客户提出两项变更,已评估工作量",
    "完成测试环境部署",
    "周例会:进度正常,下周进入联调",
]
LOST_REASONS = ["价格高于竞争对手", "客户预算冻结", "项目延期至明年", "选择了本地供应商"]
REJECT_REASONS = ["折扣过大,请重新报价", "付款条件不符合公司政策", "客户资信待核实"]

TITLE_SUFFIXES: dict[str, list[str]] = {
    "IT_IMPL": ["ERP 实施", "CRM 实施", "数据中台建设", "OA 系统升级", "供应链系统实施"],
    "IT_OPS": ["IT 运维服务"],
    "CONSULT": ["组织优化咨询", "流程再造咨询", "数字化转型规划", "战略解码"],
    "BRAND": ["品牌升级", "VI 设计", "新品发布创意", "官网视觉设计"],
}
TIMESHEET_NOTES = [
    "现场实施",
    "需求梳理",
    "方案编写",
    "测试与修复",
    "客户沟通",
    "文档整理",
    "设计稿修改",
]
