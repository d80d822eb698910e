"""zh-CN labels of the contract's payload fields and enumeration values (shared/events.py):
the one table spreadsheets take their column headers and validation lists from.

A field's label may depend on the event type (a client's `name` is 姓名, an agency's is
名称); `field_label` looks at the type first. Every field of every payload an agency sends
must have a label here (tests/unit/test_sheets.py checks it), so a new contract field
shows up in the templates with a Chinese header rather than a bare field name."""

from __future__ import annotations

FIELD_ZH: dict[str, str] = {
    "agency_id": "机构编号",
    "name": "名称",
    "region_code": "行政区划代码",
    "role": "角色",
    "registered_on": "注册日期",
    "incubated_by_pairing_id": "孵化所属结对编号",
    "pairing_id": "结对编号",
    "assisting_agency_id": "援助机构编号",
    "assisted_agency_id": "受援机构编号",
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "targets.staff_days_per_year": "目标:每年派驻人日",
    "targets.agencies_to_incubate": "目标:孵化机构数",
    "targets.projects_to_undertake": "目标:承接项目数",
    "worker_id": "社工编号",
    "licence": "职业资格",
    "languages": "服务语言",
    "obtained_on": "取得日期",
    "revoked_on": "撤销日期",
    "reason": "原因",
    "project_id": "项目编号",
    "target_group": "服务对象群体",
    "client_id": "服务对象编号",
    "client_agency_id": "服务对象所属机构编号",
    "id_number": "身份证号",
    "phone": "联系电话",
    "birth_year": "出生年份",
    "sex": "性别",
    "ethnicity": "民族",
    "circumstances": "困境情形",
    "in_difficulty": "是否困境对象",
    "visit_id": "服务记录编号",
    "service": "服务类型",
    "started_at": "开始时间",
    "duration_min": "时长(分钟)",
    "plan_id": "服务计划编号",
    "activity_id": "活动编号",
    "kind": "类型",
    "title": "主题",
    "held_on": "举办日期",
    "attendees": "参加人数",
    "training_id": "培训编号",
    "hours": "时长(小时)",
    "trainer_agency_id": "培训机构编号",
    "attendee_worker_ids": "参训社工编号",
    "dispatch_id": "派驻编号",
    "from_date": "派驻开始日期",
    "to_date": "派驻结束日期",
    "milestone": "里程碑",
    "reached_on": "达成日期",
    "target_event_id": "撤回的事件编号",
    # Not a payload field: when the row's event happened (the envelope's occurred_at).
    "occurred_at": "发生时间",
}

# Where one field name means different things in different event types.
TYPE_FIELD_ZH: dict[tuple[str, str], str] = {
    ("agency-registered", "name"): "机构名称",
    ("agency-registered", "role"): "机构角色",
    ("project-started", "name"): "项目名称",
    ("client-registered", "name"): "姓名",
    ("worker-registered", "role"): "岗位",
    ("worker-registered", "agency_id"): "所属机构编号",
    ("activity-held", "kind"): "活动类型",
    ("training-completed", "kind"): "培训类型",
    ("activity-held", "title"): "活动主题",
}

VALUE_ZH: dict[str, dict[str, str]] = {
    "service": {
        "home-medication": "上门用药",
        "psychological-comfort": "心理慰藉",
        "proxy-shopping": "代购代送",
        "crisis-support": "危机支持",
        "home-care": "居家照护",
        "health-check": "健康检查",
        "other": "其他",
    },
    "activity_kind": {
        "health-lecture": "健康讲座",
        "group-activity": "小组活动",
        "community-event": "社区活动",
    },
    "training_kind": {
        "thematic-training": "主题培训",
        "supervision": "集中督导",
        "experience-sharing": "经验分享",
        "demonstration": "实务示范",
        "online-guidance": "线上指导",
        "field-visit": "实地走访",
        "exam-coaching": "考证辅导",
    },
    "licence": {
        "none": "无",
        "assistant": "助理社会工作师",
        "intermediate": "社会工作师",
        "senior": "高级社会工作师",
    },
    "worker_role": {"social-worker": "社会工作者", "volunteer": "志愿者", "manager": "管理人员"},
    "agency_role": {"assisting": "援助方", "assisted": "受援方", "community": "社区"},
    "milestone": {
        "agency-registered": "机构注册",
        "systems-established": "制度建立",
        "project-undertaken": "承接项目",
        "methods-mastered": "掌握方法",
    },
    "sex": {"female": "女", "male": "男", "other": "其他", "unknown": "未知"},
    "circumstance": {
        "living-alone": "独居",
        "left-behind": "留守",
        "disabled": "残疾",
        "low-income": "低收入",
        "chronic-illness": "慢性病",
    },
}


def field_label(event_type: str, path: str) -> str:
    """The zh-CN column header of a payload field (dotted for nested ones)."""
    return TYPE_FIELD_ZH.get((event_type, path)) or FIELD_ZH.get(path) or path


def value_labels(choices: tuple[str, ...]) -> dict[str, str]:
    """value -> zh-CN label for one enumeration, found by its values (a value without a
    label keeps its own spelling)."""
    for table in VALUE_ZH.values():
        if set(choices) <= set(table):
            return {c: table[c] for c in choices}
    return {c: c for c in choices}
