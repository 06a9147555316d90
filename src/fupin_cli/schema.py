"""The one place that knows column names and value labels.

Every canonical field has an English snake_case name (used in code and rule expressions),
a Chinese label (used in outputs by default), a level (household or member), a type and
the header aliases seen in real sheets: the national 2014–2020 建档立卡 labels, the
post-2021 labels, English names and common variants (see ``shared/domain.md`` §5).

Header matching is done on a *normalised* header (:func:`normalise_header`): full-width
characters folded, spaces/newlines removed, brackets unified, a trailing unit such as
``(元)`` / ``（亩）`` / ``(公里)`` dropped.  Unknown columns are kept by the reader under
their original header text and reported, never dropped.

Code tables (与户主关系, 健康状况, 劳动技能, 在校生状况, 文化程度, 务工状况, 性别, 贫困户属性,
致贫原因, 风险类型) map every accepted spelling (2014 label, post-2021 label or code, common
variant) to one canonical label (:func:`canonical_value`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Level = Literal["household", "member"]
Kind = Literal["str", "int", "float", "money", "bool", "date", "code"]


@dataclass(frozen=True)
class Field:
    name: str  # canonical English name, used in rule expressions
    zh: str  # Chinese label written to outputs
    level: Level
    kind: Kind
    aliases: tuple[str, ...] = ()  # header texts accepted (zh and en), matched after normalise_header
    code_table: str | None = None  # for kind == "code": key of CODE_TABLES
    description: str = ""
    household_repeat: bool = False  # a household field that member-level sheets repeat per row


def F(name, zh, level, kind, *aliases, code_table=None, description="", repeat=True):
    return Field(name, zh, level, kind, tuple(aliases), code_table, description,
                 household_repeat=(level == "household" and repeat))


# --------------------------------------------------------------------------------------
# Household fields (户)
# --------------------------------------------------------------------------------------
HOUSEHOLD_FIELDS: list[Field] = [
    F("household_id", "户编号", "household", "str", "户编号", "户码", "家庭编号", "户号", "户编码", "家庭户编号", "household_id", "hh_id", "household_no"),
    F("province", "省", "household", "str", "省", "省份", "省(区、市)", "province"),
    F("city", "市", "household", "str", "市", "市(州)", "地市", "市(地、州、盟)", "city", "prefecture"),
    F("county", "县", "household", "str", "县", "县(市、区、旗)", "县(市、区)", "区县", "县区", "county"),
    F("township", "乡镇", "household", "str", "乡镇", "乡(镇)", "乡(镇、街道)", "乡镇(街道)", "镇", "township", "town"),
    F("village", "行政村", "household", "str", "行政村", "村", "村(社区)", "village"),
    F("natural_village", "自然村", "household", "str", "自然村", "自然村(组)", "村民小组", "组", "社", "natural_village", "group"),
    F("head_name", "户主姓名", "household", "str", "户主姓名", "户主", "head_name", "householder"),
    F("head_id_number", "户主证件号码", "household", "str", "户主证件号码", "户主身份证号", "户主身份证号码", "户主身份证", "户主证件号", "head_id_number", "head_id"),
    F("household_size", "家庭人口数", "household", "int", "家庭人口数", "家庭人口", "人口数", "人数", "家庭人数", "户人数", "家庭成员数", "家庭人口数(人)", "household_size", "family_size"),
    F("phone", "联系电话", "household", "str", "联系电话", "户联系电话", "电话", "户主电话", "户主联系电话", "phone"),
    F("address", "家庭住址", "household", "str", "家庭住址", "门牌号", "住址", "address"),
    F("bank_name", "开户银行名称", "household", "str", "开户银行名称", "开户银行", "bank_name"),
    F("bank_account", "银行卡号", "household", "str", "银行卡号", "银行账号", "bank_account"),
    F("year", "年度", "household", "int", "年度", "归属年度", "year"),
    F("identification_standard", "识别标准", "household", "str", "识别标准", "identification_standard"),
    F("recorded_attribute", "原贫困户属性", "household", "code", "原贫困户属性", "贫困户属性", "属性", "户属性", "recorded_attribute", "attribute", code_table="attribute"),
    F("recorded_primary_cause", "原主要致贫原因", "household", "code", "原主要致贫原因", "主要致贫原因", "致贫原因", "致贫原因1", "recorded_primary_cause", "primary_cause", code_table="cause"),
    F("recorded_secondary_causes", "原其他致贫原因", "household", "str", "原其他致贫原因", "其他致贫原因", "次要致贫原因", "致贫原因2", "recorded_secondary_causes", "secondary_causes"),
    F("household_type", "户类型", "household", "str", "户类型", "household_type", description="post-2021: 脱贫户 / 监测户 / 一般农户"),
    F("exit_status", "脱贫状态", "household", "str", "脱贫状态", "脱贫属性", "脱贫标志", "exit_status"),
    F("exit_year", "脱贫年度", "household", "int", "脱贫年度", "脱贫年份", "exit_year"),
    F("return_year", "返贫年度", "household", "int", "返贫年度", "return_year"),
    F("first_identified_year", "首次识别年度", "household", "int", "首次识别年度", "首次识别时间", "识别年度", "first_identified_year"),
    F("military_family", "是否军烈属", "household", "bool", "是否军烈属", "军烈属", "military_family"),
    F("only_child", "是否独生子女户", "household", "bool", "是否独生子女户", "独生子女户", "only_child"),
    F("two_daughters", "是否双女户", "household", "bool", "是否双女户", "双女户", "two_daughters"),
    F("relocated", "是否易地扶贫搬迁户", "household", "bool", "是否易地扶贫搬迁户", "易地扶贫搬迁户", "是否搬迁户", "relocated"),
    F("arable_land", "耕地面积", "household", "float", "耕地面积", "耕地面积(亩)", "arable_land"),
    F("irrigated_land", "有效灌溉面积", "household", "float", "有效灌溉面积", "irrigated_land"),
    F("forest_land", "林地面积", "household", "float", "林地面积", "forest_land"),
    F("grain_for_green", "退耕还林面积", "household", "float", "退耕还林面积", "grain_for_green"),
    F("coop_member", "是否加入农民专业合作社", "household", "bool", "是否加入农民专业合作社", "加入合作社", "coop_member"),
    F("production_power", "是否通生产用电", "household", "bool", "是否通生产用电", "production_power"),
    F("domestic_power", "是否通生活用电", "household", "bool", "是否通生活用电", "通电", "domestic_power"),
    F("broadcast_tv", "是否通广播电视", "household", "bool", "是否通广播电视", "broadcast_tv"),
    F("road_distance_km", "与村主干路距离", "household", "float", "与村主干路距离", "与村主干路距离(公里)", "距村主干路距离", "road_distance_km"),
    F("road_type", "入户路类型", "household", "str", "入户路类型", "road_type"),
    F("housing_area", "住房面积", "household", "float", "住房面积", "住房面积(㎡)", "住房面积(平方米)", "住房面积(m2)", "housing_area"),
    F("housing_structure", "房屋结构", "household", "str", "房屋结构", "housing_structure"),
    F("unsafe_housing", "是否危房", "household", "bool", "是否危房", "危房户", "危房", "住房是否危房", "房屋是否危房", "unsafe_housing"),
    F("unsafe_housing_level", "危房级别", "household", "str", "危房级别", "危房等级", "危房鉴定等级", "住房安全等级", "unsafe_housing_level"),
    F("water_difficulty", "饮水是否困难", "household", "bool", "饮水是否困难", "饮水困难", "water_difficulty"),
    F("safe_water", "饮水是否安全", "household", "bool", "饮水是否安全", "是否解决安全饮用水", "安全饮水", "饮水安全", "饮水有保障", "饮水安全有保障", "安全饮水有保障", "safe_water"),
    F("fuel_type", "主要燃料类型", "household", "str", "主要燃料类型", "fuel_type"),
    F("sanitary_toilet", "有无卫生厕所", "household", "bool", "有无卫生厕所", "卫生厕所", "sanitary_toilet"),
    F("food_clothing_secure", "是否不愁吃穿", "household", "bool", "是否不愁吃穿", "不愁吃穿", "吃穿不愁", "两不愁", "food_clothing_secure"),
    # income (元/年)
    F("annual_income", "年收入", "household", "money", "年收入", "家庭年收入", "annual_income"),
    F("wage_income", "工资性收入", "household", "money", "工资性收入", "工资收入", "务工收入", "wage_income"),
    F("business_income", "生产经营性收入", "household", "money", "生产经营性收入", "经营性收入", "生产经营收入", "business_income"),
    F("property_income", "财产性收入", "household", "money", "财产性收入", "property_income"),
    F("dividend_income", "资产收益扶贫分红收入", "household", "money", "资产收益扶贫分红收入", "分红收入", "dividend_income"),
    F("transfer_income", "转移性收入", "household", "money", "转移性收入", "transfer_income"),
    F("family_planning_subsidy", "计划生育金", "household", "money", "计划生育金", "family_planning_subsidy"),
    F("dibao_benefit", "低保金", "household", "money", "低保金", "dibao_benefit"),
    F("tekun_benefit", "特困供养金", "household", "money", "特困供养金", "五保金", "五保金/特困供养金", "tekun_benefit"),
    F("pension_benefit", "养老保险金", "household", "money", "养老保险金", "养老金", "pension_benefit"),
    F("eco_compensation", "生态补偿金", "household", "money", "生态补偿金", "生态补偿", "eco_compensation"),
    F("business_expense", "生产经营性支出", "household", "money", "生产经营性支出", "经营性支出", "生产经营支出", "business_expense"),
    F("net_income", "纯收入", "household", "money", "纯收入", "家庭纯收入", "年纯收入", "net_income"),
    F("income_per_capita", "人均纯收入", "household", "money", "人均纯收入", "家庭人均纯收入", "年人均纯收入", "人均可支配收入", "家庭年人均纯收入", "income_per_capita", "per_capita_income"),
    F("previous_income_per_capita", "上年人均纯收入", "household", "money", "上年人均纯收入", "previous_income_per_capita"),
    F("compliant_expense", "合规自付支出", "household", "money", "合规自付支出", "刚性支出", "compliant_expense", "rigid_expense"),
    F("medical_expense", "医疗自付支出", "household", "money", "医疗自付支出", "医疗支出", "medical_expense"),
    F("education_expense", "教育支出", "household", "money", "教育支出", "education_expense"),
    F("disaster_loss", "灾害损失", "household", "money", "灾害损失", "意外损失", "disaster_loss"),
    # social assistance
    F("dibao_household", "是否低保户", "household", "bool", "是否低保户", "低保户", "低保家庭", "dibao_household"),
    F("tekun_household", "是否特困供养户", "household", "bool", "是否特困供养户", "是否五保户", "五保户", "特困供养户", "特困户", "tekun_household"),
    # exclusion flags (一票否决), provincial lists — see domain.md §2
    F("has_public_employee", "有国家公职人员", "household", "bool", "有国家公职人员", "家庭成员有国家公职人员", "有财政供养人员", "家庭成员有财政供养人员", "has_public_employee"),
    F("has_village_cadre", "有村干部", "household", "bool", "有村干部", "家庭成员有村干部", "有村三委干部", "has_village_cadre"),
    F("has_vehicle", "有机动车", "household", "bool", "有机动车", "有小轿车", "有车辆", "有汽车", "有私家车", "小轿车", "小汽车", "机动车", "家庭拥有机动车", "has_vehicle"),
    F("vehicle_value", "车辆价值", "household", "money", "车辆价值", "车辆购置价", "vehicle_value"),
    F("has_town_property", "城镇有房产", "household", "bool", "城镇有房产", "在城镇购房", "城镇购房", "城镇商品房", "商品房", "在城镇购买商品房", "城镇有商品房", "城镇房产", "在城镇有房", "购买商品房", "城镇是否有商品房", "has_town_property"),
    F("has_company", "有工商注册企业", "household", "bool", "有工商注册企业", "有注册公司", "注册公司", "公司", "开办公司", "工商注册企业", "工商注册公司", "注册企业", "经营公司", "has_company"),
    F("large_scale_operator", "种养大户或雇工", "household", "bool", "种养大户或雇工", "种养大户", "雇工", "large_scale_operator"),
    F("split_household", "拆户并户", "household", "bool", "拆户并户", "是否拆户并户", "split_household"),
    F("absentee_registration", "空挂户", "household", "bool", "空挂户", "是否空挂户", "absentee_registration"),
    # assistance (帮扶)
    F("responsible_person", "帮扶责任人", "household", "str", "帮扶责任人", "帮扶责任人姓名", "帮扶人", "responsible_person"),
    F("responsible_id_number", "帮扶责任人证件号码", "household", "str", "帮扶责任人证件号码", "帮扶责任人身份证号", "帮扶责任人身份证号码", "帮扶人身份证号", "responsible_id_number"),
    F("responsible_unit", "帮扶单位", "household", "str", "帮扶单位", "帮扶责任人单位", "所在单位", "responsible_unit"),
    F("responsible_phone", "帮扶责任人电话", "household", "str", "帮扶责任人电话", "帮扶人电话", "responsible_phone"),
    F("task_force", "驻村工作队", "household", "str", "驻村工作队", "驻村工作队队长", "task_force"),
    F("first_secretary", "第一书记", "household", "str", "第一书记", "first_secretary"),
    # monitoring (2021+)
    F("monitoring_category", "监测对象类别", "household", "str", "监测对象类别", "易返贫致贫户(监测对象)类型", "监测对象类型", "monitoring_category"),
    F("risk_types", "致贫返贫风险", "household", "str", "致贫返贫风险", "风险类型", "致贫/返贫风险", "risk_types"),
    F("monitoring_start", "风险识别时间", "household", "date", "风险识别时间", "纳入监测时间", "monitoring_start"),
    F("risk_eliminated", "风险是否消除", "household", "bool", "风险是否消除", "risk_eliminated"),
    F("elimination_date", "风险消除时间", "household", "date", "风险消除时间", "elimination_date"),
    F("measures_count", "帮扶措施数", "household", "int", "帮扶措施数", "已落实帮扶措施数", "measures_count"),
    F("no_labour_household", "整户无劳动能力", "household", "bool", "整户无劳动能力", "整户无劳动力", "整户无劳动能力兜底保障户", "no_labour_household"),
    F("income_drop", "收入骤减", "household", "bool", "收入骤减", "收入大幅缩减", "income_drop"),
    # rule-pack inputs (rules/national-2014 causes, rules/monitoring-2021 elimination)
    F("lacks_capital", "缺发展资金", "household", "bool", "缺发展资金", "是否缺发展资金", "缺资金", "lacks_capital",
      description="入户调查认定缺少发展生产资金（致贫原因 缺资金 的依据）"),
    F("low_motivation", "自身发展动力不足", "household", "bool", "是否自身发展动力不足", "内生动力不足", "发展动力不足", "low_motivation",
      description="入户调查认定自身发展动力不足（致贫原因的依据）"),
    F("has_dropout", "有辍学学生", "household", "bool", "有辍学学生", "家庭成员有辍学学生", "有失学辍学学生", "辍学学生", "失学辍学学生", "义务教育阶段辍学学生", "has_dropout",
      description="户级：家庭成员中有义务教育阶段失学辍学（成员级“是否辍学”在每行一户的表中的含义）"),
    F("monitored_months", "已监测月数", "household", "int", "已监测月数", "监测月数", "监测时长", "监测时长(月)", "monitored_months",
      description="纳入监测至评估时的月数（风险消除要求原则上不少于6个月）"),
    # ---- policy (issue 9): exclusion items and their exceptions, relocation programme ----------
    F("vehicle_type", "车辆类型", "household", "str", "车辆类型", "机动车类型", "车辆种类", "vehicle_type",
      description="豁免类型（残疾人代步车、普通农用车等）见参数 vehicle_exempt_types"),
    F("resettlement_housing", "城镇住房为安置房", "household", "bool", "城镇住房为安置房", "因灾重建", "因灾重建房", "征地拆迁安置",
      "征地拆迁安置房", "拆迁安置房", "统征拆迁房", "resettlement_housing",
      description="城镇住房为因灾重建或征地拆迁安置房（不作为城镇房产否决）"),
    F("major_poverty_cause", "有重大致贫原因", "household", "bool", "有重大致贫原因", "是否有重大致贫原因", "major_poverty_cause"),
    F("supporter_public_employee", "子女或赡养人为公职人员", "household", "bool", "子女或赡养人为公职人员", "赡养人为公职人员",
      "子女为公职人员", "赡养人是否公职人员", "supporter_public_employee"),
    F("individual_business", "个体工商户", "household", "bool", "个体工商户", "是否个体工商户", "有个体工商户", "individual_business"),
    F("coop_leader", "合作社负责人", "household", "bool", "合作社负责人", "是否合作社负责人", "专业合作社负责人", "coop_leader"),
    F("luxury_housing", "新建或高档装修住房", "household", "bool", "新建或高档装修住房", "高档装修", "豪华装修", "新建豪华住房", "luxury_housing"),
    F("commercial_pension", "有商业养老保险", "household", "bool", "有商业养老保险", "商业养老保险", "commercial_pension"),
    F("luxury_consumption", "高档消费", "household", "bool", "高档消费", "有高档消费", "高档家电", "luxury_consumption"),
    F("large_machinery", "大型农机或工程机械", "household", "bool", "大型农机或工程机械", "大型农机", "大型农机具", "工程机械", "large_machinery"),
    F("relocation_programme", "搬迁项目", "household", "str", "搬迁项目", "搬迁类型", "搬迁工程", "relocation_programme",
      description="高山生态扶贫搬迁（重庆市级）或 易地扶贫搬迁（国家）"),
]

# `fupin funds` inputs.  Payment lists (资金发放名单): one row per payment.  Household-level so that a
# roster carrying such a column keeps it; 姓名 / 身份证号 / 银行卡号 / 户主姓名 of a payment list
# map to name / id_number / bank_account / head_name and are used when the payee columns are absent.
# 帮扶 dates (--assist): 驻村工作队 in and out of a village, a 帮扶责任人's pairing with a household.
HOUSEHOLD_FIELDS += [
    F("payee_name", "收款人", "household", "str", "收款人", "收款人姓名", "领款人", "领款人姓名", "领取人", "领取人姓名", "payee", "payee_name"),
    F("payee_id_number", "收款人证件号码", "household", "str", "收款人证件号码", "收款人身份证号", "收款人身份证号码", "领款人身份证号",
      "领款人身份证号码", "领取人身份证号", "payee_id", "payee_id_number"),
    F("payee_account", "收款账号", "household", "str", "收款账号", "收款人账号", "收款卡号", "账号", "卡号", "银行账户", "一卡通账号",
      "惠农一卡通账号", "社保卡号", "payee_account", "account"),
    F("fund_item", "资金项目", "household", "str", "资金项目", "补助项目", "项目名称", "项目", "补贴项目", "扶持项目", "资金名称",
      "补助类别", "fund_item", "item"),
    F("amount", "金额", "household", "money", "金额", "补助金额", "发放金额", "补贴金额", "到户金额", "实发金额", "兑付金额", "amount"),
    F("payment_date", "发放日期", "household", "date", "发放日期", "支付日期", "拨付日期", "发放时间", "兑付日期", "到账日期",
      "payment_date"),
    F("payment_period", "所属期", "household", "str", "所属期", "所属期间", "发放期", "补助期", "发放批次", "批次", "补助年度",
      "payment_period", "period"),
    F("task_force_start", "驻村开始时间", "household", "date", "驻村开始时间", "驻村开始日期", "驻村时间", "进驻时间", "task_force_start"),
    F("task_force_end", "驻村结束时间", "household", "date", "驻村结束时间", "驻村结束日期", "撤离时间", "task_force_end"),
    F("assist_start", "开始帮扶时间", "household", "date", "开始帮扶时间", "帮扶开始时间", "结对帮扶时间", "assist_start"),
    F("assist_end", "结束帮扶时间", "household", "date", "结束帮扶时间", "帮扶结束时间", "脱钩时间", "assist_end"),
]

# --------------------------------------------------------------------------------------
# Member fields (人)
# --------------------------------------------------------------------------------------
MEMBER_FIELDS: list[Field] = [
    F("member_id", "人编号", "member", "str", "人编号", "成员编号", "member_id", "person_id"),
    F("seq", "序号", "member", "int", "序号", "编号", "seq", "no"),
    F("name", "姓名", "member", "str", "姓名", "成员姓名", "name"),
    F("sex", "性别", "member", "code", "性别", "sex", "gender", code_table="sex"),
    F("birth_date", "出生日期", "member", "date", "出生日期", "出生年月", "出生年月日", "birth_date", "date_of_birth"),
    F("id_number", "证件号码", "member", "str", "证件号码", "身份证号", "身份证号码", "公民身份号码", "身份证件号码", "证件号", "身份证", "成员身份证号", "成员证件号码", "id_number", "id_no"),
    F("relation", "与户主关系", "member", "code", "与户主关系", "与户主的关系", "关系", "relation", "relationship", code_table="relation"),
    F("ethnicity", "民族", "member", "str", "民族", "ethnicity"),
    F("politics", "政治面貌", "member", "str", "政治面貌", "politics"),
    F("education", "文化程度", "member", "code", "文化程度", "学历", "education", code_table="education"),
    F("school_status", "在校生状况", "member", "code", "在校生状况", "在校生情况", "在校情况", "school_status", code_table="school_status"),
    F("health", "健康状况", "member", "code", "健康状况", "health", code_table="health"),
    F("labour", "劳动技能", "member", "code", "劳动技能", "劳动能力", "labour", "labor", "labour_skill", code_table="labour"),
    F("work_status", "务工状况", "member", "code", "务工状况", "务工情况", "务工地点", "work_status", code_table="work_status"),
    F("work_months", "务工时间", "member", "float", "务工时间", "务工时间(月)", "务工月数", "work_months"),
    F("active_military", "是否现役军人", "member", "bool", "是否现役军人", "现役军人", "active_military"),
    F("medical_insurance", "是否参加基本医疗保险", "member", "bool", "是否参加基本医疗保险", "是否参加城乡居民基本医疗保险", "是否参加新型农村合作医疗", "是否参加新农合", "参加新农合", "基本医疗保险", "参加医保", "医保", "参加医疗保险", "医疗保险", "medical_insurance"),
    F("critical_illness_insurance", "是否参加大病保险", "member", "bool", "是否参加大病保险", "大病保险", "critical_illness_insurance"),
    F("medical_assistance", "是否享受医疗救助", "member", "bool", "是否享受医疗救助", "是否纳入医疗救助", "医疗救助", "享受医疗救助", "medical_assistance",
      description="医疗救助（基本医疗有保障：患大病成员已参加大病保险并得到医疗救助；只在填写时核查）"),
    F("pension_insurance", "是否参加城乡居民基本养老保险", "member", "bool", "是否参加城乡居民基本养老保险", "是否参加养老保险", "养老保险", "pension_insurance"),
    F("on_dibao", "是否享受低保", "member", "bool", "是否享受低保", "享受低保", "低保", "纳入低保", "低保对象", "on_dibao"),
    F("on_tekun", "是否特困供养", "member", "bool", "是否特困供养", "是否五保", "特困供养", "特困人员", "特困供养人员", "五保对象", "on_tekun"),
    F("disability_cert", "残疾证号", "member", "str", "残疾证号", "残疾证号码", "disability_cert"),
    F("dropout", "是否辍学", "member", "bool", "是否辍学", "辍学", "失学辍学", "义务教育阶段辍学", "义务教育阶段失学辍学", "dropout"),
    F("public_employee", "是否国家公职人员", "member", "bool", "是否国家公职人员", "是否财政供养人员", "国家公职人员", "公职人员", "财政供养人员", "public_employee"),
    F("village_cadre", "是否村干部", "member", "bool", "是否村干部", "village_cadre"),
    F("home_schooling", "是否送教上门", "member", "bool", "是否送教上门", "送教上门", "home_schooling",
      description="残疾儿童送教上门（不计为义务教育失学辍学）"),
    F("training", "培训状况", "member", "str", "培训状况", "training"),
]

FIELDS: dict[str, Field] = {f.name: f for f in HOUSEHOLD_FIELDS + MEMBER_FIELDS}
HOUSEHOLD_FIELD_NAMES = [f.name for f in HOUSEHOLD_FIELDS]
MEMBER_FIELD_NAMES = [f.name for f in MEMBER_FIELDS]

# --------------------------------------------------------------------------------------
# Decision columns added by fupin (register, exit list, reassessment, monitoring).
# name → (中文 label, English label). Outputs use the Chinese label unless --lang en.
# A register read back (io.read_register) maps these labels to the names.
# --------------------------------------------------------------------------------------
DECISION_FIELDS: dict[str, tuple[str, str]] = {
    "status": ("识别结果", "status"),  # 贫困户 / 待核实 / 非贫困户
    "attribute": ("贫困户属性", "attribute"),
    "primary_cause": ("主要致贫原因", "primary_cause"),
    "secondary_causes": ("次要致贫原因", "secondary_causes"),  # joined with "、"
    "measures": ("帮扶措施建议", "measures"),  # joined with "；"
    "basis": ("识别依据", "basis"),  # rules fired with values and thresholds
    "not_identified_reason": ("未识别原因", "not_identified_reason"),
    "assessment_year": ("识别年度", "assessment_year"),
    "pack": ("规则包", "pack"),  # name@version
    "member_count": ("成员人数", "member_count"),
    "cause_check": ("致贫原因核查", "cause_check"),
    "not_evaluated": ("未评估规则", "not_evaluated"),  # rules the roster could not feed that could change the row
    # annual cycle
    "exit_result": ("脱贫结果", "exit_result"),  # 脱贫 / 未脱贫
    "exit_unmet": ("未达标原因", "exit_unmet"),
    "transition": ("动态调整类型", "transition"),  # 新识别/继续帮扶/脱贫/返贫/清退/自然减少/非贫困户
    "registry_status": ("建档立卡状态", "registry_status"),  # 贫困户 / 已脱贫 / 返贫 / 清退 / 自然减少
    "monitoring_result": ("监测结果", "monitoring_result"),
    "elimination_result": ("风险消除结果", "elimination_result"),
    # annual cycle: history and matching (core/history.py, core/reassess.py)
    "status_history": ("历年状态", "status_history"),  # "2015:贫困户|2016:已脱贫" (one entry per year)
    "previous_registry_status": ("上年建档立卡状态", "previous_registry_status"),
    "previous_household_id": ("上年户编号", "previous_household_id"),
    "match_method": ("匹配方式", "match_method"),  # 户编号 / 户主证件号码 / 成员证件号码 / 分户 / 新增
    "transition_reason": ("调整原因", "transition_reason"),
    "elimination_method": ("风险消除方式", "elimination_method"),  # 帮扶消除 / 自然消除
    "elimination_unmet": ("未消除原因", "elimination_unmet"),
}

# 建档立卡状态 (registry status at the end of a year) and 动态调整类型 (the year's transition)
REGISTRY_POOR, REGISTRY_EXITED, REGISTRY_RETURNED = "贫困户", "已脱贫", "返贫"
REGISTRY_REMOVED, REGISTRY_GONE, REGISTRY_NONE = "清退", "自然减少", "非贫困户"
REGISTRY_STATUSES = (REGISTRY_POOR, REGISTRY_EXITED, REGISTRY_RETURNED, REGISTRY_REMOVED, REGISTRY_GONE, REGISTRY_NONE)
TRANSITIONS = ("新识别", "继续帮扶", "脱贫", "返贫", "清退", "自然减少", "非贫困户")
EXIT_DONE, EXIT_NOT_DONE = "脱贫", "未脱贫"

STATUS_POOR, STATUS_PENDING, STATUS_NOT_POOR = "贫困户", "待核实", "非贫困户"
STATUSES = (STATUS_POOR, STATUS_PENDING, STATUS_NOT_POOR)

# Provenance columns carried on every record of a Roster (households and members).
SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW = "_source", "_sheet", "_row"
PROVENANCE_COLUMNS = [SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW]

# Fields the reader requires to build a roster at all (missing → InputError) and the
# fields that are "required" for data quality (missing → finding).
KEY_FIELDS = ("household_id",)
REQUIRED_HOUSEHOLD_FIELDS = ("household_id", "village", "head_name", "household_size")
REQUIRED_MEMBER_FIELDS = ("name", "id_number", "sex", "relation", "health", "labour")

# --------------------------------------------------------------------------------------
# Code tables: canonical label → accepted spellings (besides the label itself).
# The canonical labels are the national 2014–2020 labels; post-2021 labels and codes
# map onto them (domain.md §5.2).
# --------------------------------------------------------------------------------------
CODE_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "sex": {
        "男": ("1", "男性", "m", "male"),
        "女": ("2", "女性", "f", "female"),
    },
    "relation": {
        "户主": ("本人", "01", "02", "本人或户主", "head", "self"),
        "配偶": ("10", "11", "12", "夫", "妻", "丈夫", "妻子", "spouse"),
        "之子": ("20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "子", "儿子", "长子", "次子", "独生子", "son"),
        "之女": ("30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "女", "女儿", "长女", "次女", "独生女", "daughter"),
        "之儿媳": ("儿媳", "媳妇", "儿媳妇"),
        "之女婿": ("女婿",),
        "之孙子": ("孙子", "41"),
        "之孙女": ("孙女", "42"),
        "之外孙子": ("外孙子", "外孙", "43"),
        "之外孙女": ("外孙女", "44"),
        "之父": ("父亲", "父", "51"),
        "之母": ("母亲", "母", "52"),
        "之岳父": ("岳父",),
        "之岳母": ("岳母",),
        "之公公": ("公公", "53"),
        "之婆婆": ("婆婆", "54"),
        "之祖父": ("祖父", "爷爷", "61"),
        "之祖母": ("祖母", "奶奶", "62"),
        "之外祖父": ("外祖父", "外公", "63"),
        "之外祖母": ("外祖母", "外婆", "64"),
        "其他": ("其它", "兄弟姐妹", "70", "80", "97", "99", "other"),
    },
    "health": {
        "健康": ("1", "良好", "healthy"),
        "长期慢性病": ("2", "慢性病", "长期慢病"),
        "患有大病": ("3", "大病", "重病", "重大疾病"),
        "残疾": ("4", "残疾人", "残"),
    },
    "labour": {
        "普通劳动力": ("1", "普通", "劳动力", "有劳动力"),
        "技能劳动力": ("2", "技能"),
        "弱劳动力或半劳动力": ("3", "弱劳动力", "半劳动力"),
        "丧失劳动力": ("4", "丧失", "丧失劳动能力"),
        "无劳动力": ("5", "无劳动能力", "无"),
    },
    "education": {
        "文盲或半文盲": ("文盲", "半文盲", "90"),
        "学龄前儿童": ("学龄前",),
        "小学": ("80",),
        "初中": ("70",),
        "高中": ("60", "中专", "中技", "中专/中技", "职高", "40", "50"),
        "大专及以上": ("大专", "大学专科", "大学本科", "本科", "研究生", "10", "20", "30"),
    },
    "school_status": {
        "非在校生": ("非在校", "否", "不在校"),
        "学前教育": ("学前", "幼儿园"),
        "小学": ("小学一年级", "小学二年级", "小学三年级", "小学四年级", "小学五年级", "小学六年级",
                 "一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
        "七年级": ("初一", "初中一年级"),
        "八年级": ("初二", "初中二年级"),
        "九年级": ("初三", "初中三年级"),
        "高中一年级": ("高一",),
        "高中二年级": ("高二",),
        "高中三年级": ("高三",),
        "中职一年级": (),
        "中职二年级": (),
        "中职三年级": (),
        "高职一年级": (),
        "高职二年级": (),
        "高职三年级": (),
        "大专及以上": ("大专", "本科", "大学", "研究生"),
    },
    "work_status": {
        "乡(镇)内务工": ("乡镇内务工", "乡内务工", "镇内务工"),
        "乡(镇)外县内务工": ("乡镇外县内务工", "县内务工"),
        "县外省内务工": ("省内务工",),
        "省外务工": ("外省务工",),
        "其他": ("其它", "无", "未务工"),
    },
    "attribute": {  # 贫困户属性 (aac006), domain.md §3
        "一般贫困户": ("01", "1", "一般户"),
        "低保脱贫户": ("02",),
        "特困供养脱贫户": ("03", "五保脱贫户"),
        "低保贫困户": ("04", "低保户"),
        "一般脱贫户": ("05",),
        "特困供养贫困户": ("06", "五保贫困户", "五保户", "特困供养户"),
        "低保特困供养贫困户": ("07",),
        "低保特困供养户": ("08",),
        "一般农户": ("非贫困户",),
    },
    "cause": {  # 主要致贫原因, national list of 12 (store labels, not numbers)
        "因病": ("1",), "因残": ("2",), "因学": ("3",), "因灾": ("4",), "缺土地": ("5",),
        "缺水": ("6",), "缺技术": ("7",), "缺劳力": ("8", "缺劳动力"), "缺资金": ("9",),
        "交通条件落后": ("10", "交通落后"), "自身发展动力不足": ("11", "自身发展动力不足"),
        "其他": ("12", "其它"),
    },
    "registry_status": {  # 建档立卡状态 / 脱贫状态 (aar010: 0 未脱贫, 1/4 已脱贫, 3 返贫), domain.md §3
        "贫困户": ("未脱贫", "0", "贫困", "建档立卡贫困户", "在册贫困户"),
        "已脱贫": ("1", "4", "脱贫", "脱贫户", "已脱贫(享受政策)", "已脱贫(不再享受政策)", "已脱贫享受政策", "已脱贫不享受政策", "稳定脱贫"),
        "返贫": ("3", "返贫户"),
        "清退": ("识别不准", "错评剔除", "剔除"),
        "自然减少": ("销户", "死亡销户", "迁出"),
        "非贫困户": ("一般农户", "非建档立卡户"),
    },
    "risk_type": {  # post-2021 致贫/返贫风险 (code table 100A27)
        "因病": (), "因残": (), "因学": (), "因自然灾害": ("因灾",), "因缺劳动力": ("缺劳动力", "缺劳力"),
        "因意外事故": ("意外事故",), "因产业失败": ("产业失败",), "因务工就业不稳": ("务工就业不稳", "就业不稳"),
        "其他": ("其它",),
    },
}

CAUSES: tuple[str, ...] = tuple(CODE_TABLES["cause"])
ATTRIBUTES: tuple[str, ...] = tuple(CODE_TABLES["attribute"])
RISK_TYPES: tuple[str, ...] = tuple(CODE_TABLES["risk_type"])

TRUE_WORDS = frozenset({"是", "√", "✓", "✔", "1", "y", "yes", "true", "t", "有", "对", "已", "已解决", "已参加", "参加", "安全"})
FALSE_WORDS = frozenset({"否", "×", "✗", "✘", "x", "0", "n", "no", "false", "f", "无", "没有", "未", "未解决", "未参加", "不安全"})
TOTAL_ROW_WORDS = ("合计", "总计", "小计", "累计")

# --------------------------------------------------------------------------------------
# Header vocabulary (issue 8): how clerks write labels.  Data only; the matching is in
# fupin_cli.headers (docs/reading.md "Matching headers").  Everything is written as it reads
# *after* normalise_header (NFKC, lower case, no spaces, () brackets).
# --------------------------------------------------------------------------------------
# Labels that state the *good* case of a gap field (or the gap of a good-case field): the
# column maps to the field with its values inverted, and the mapping records it.
INVERTED_ALIASES: dict[str, tuple[str, ...]] = {
    "unsafe_housing": ("房屋是否安全", "住房是否安全", "住房安全", "房屋安全", "住房安全有保障", "住房有保障",
                       "安全住房", "非危房", "住房安全保障", "是否住房安全", "房屋安全鉴定合格", "住房安全是否有保障", "住房是否有保障"),
    "water_difficulty": ("饮水不困难",),
    "food_clothing_secure": ("愁吃穿", "吃穿困难", "吃穿有困难", "是否愁吃穿"),
    "medical_insurance": ("未参加基本医疗保险", "未参保", "未参加医疗保险", "未参加新农合"),
    "dropout": ("在校",),
}
# Systematic variants: a prefix stripped from a label before it is looked up again, with the
# level it hints at ("household": the household has such a member/item; "": the row's own flag).
VARIANT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("家庭成员中是否有", "household"), ("家庭成员是否有", "household"), ("家庭成员中有无", "household"),
    ("家庭成员有无", "household"), ("家庭成员中有", "household"), ("家庭成员有", "household"),
    ("家中是否有", "household"), ("家中有无", "household"), ("家中有", "household"), ("家庭是否有", "household"),
    ("家庭有无", "household"), ("家庭有", "household"), ("是否拥有", "household"), ("是否有", "household"),
    ("有无", "household"), ("拥有", "household"), ("是否属于", ""), ("是否为", ""), ("是否是", ""), ("是否", ""),
    ("有", "household"), ("为", ""),
)
VARIANT_SUFFIXES: tuple[str, ...] = ("户", "情况", "状态", "人员", "人口", "的")
# A negating prefix on a yes/no label: the column is the field inverted (未参加… , 非危房 …).
NEGATION_PREFIXES: tuple[str, ...] = ("没有", "未", "无", "非", "不")
# Answer hints in brackets, dropped before matching: (是/否) (√) (有/无) (1是0否) (填是或否) …
ANSWER_HINT = r"\((?:填写?|请填|打)?(?:[是否有无√×✓✔✗✘xyn10/、,或=]|是否|勾|空白?)+\)"
# Units written in labels: unit → (dimension, factor to the field's base unit).  The value is
# multiplied by the factor: 人均纯收入(万元) 0.52 → 5,200 元; 耕地面积(公顷) 1 → 15 亩.
UNITS: dict[str, tuple[str, float]] = {
    "元": ("元", 1.0), "元/人": ("元", 1.0), "元/年": ("元", 1.0), "元/人/年": ("元", 1.0), "元/人年": ("元", 1.0),
    "人民币元": ("元", 1.0), "万元": ("元", 10000.0), "千元": ("元", 1000.0), "百元": ("元", 100.0),
    "亩": ("亩", 1.0), "公顷": ("亩", 15.0), "ha": ("亩", 15.0),
    "平方米": ("平方米", 1.0), "m2": ("平方米", 1.0), "平米": ("平方米", 1.0),
    "公里": ("公里", 1.0), "千米": ("公里", 1.0), "km": ("公里", 1.0), "米": ("公里", 0.001), "m": ("公里", 0.001),
    "月": ("月", 1.0), "个月": ("月", 1.0), "人": ("人", 1.0), "口": ("人", 1.0), "个": ("个", 1.0), "项": ("个", 1.0),
    "%": ("%", 1.0), "岁": ("岁", 1.0), "年": ("年", 1.0),
}
# The base unit of fields that have one (money fields: 元).  A label unit of another dimension
# is not applied (a warning note says so).
FIELD_UNITS: dict[str, str] = {
    "arable_land": "亩", "irrigated_land": "亩", "forest_land": "亩", "grain_for_green": "亩",
    "housing_area": "平方米", "road_distance_km": "公里", "work_months": "月", "monitored_months": "月",
    "household_size": "人", "measures_count": "个",
}
# Graded values of yes/no fields, in the field's own meaning (whatever the label's polarity):
# 危房 grades A/B (safe) and C/D (unsafe), 住房和城乡建设部 危房鉴定.
VALUE_GRADES: dict[str, dict[bool, tuple[str, ...]]] = {
    "unsafe_housing": {
        True: ("d级危房", "c级危房", "d级", "c级", "d", "c", "危房", "是危房", "整栋危房", "局部危房"),
        False: ("a级", "b级", "a级安全", "b级安全", "a", "b", "非危房", "不是危房", "安全住房"),
    },
}
# A member-level flag on a one-row-per-household sheet means the household has such a member.
HOUSEHOLD_MEANING: dict[str, str] = {
    "on_dibao": "dibao_household",
    "on_tekun": "tekun_household",
    "public_employee": "has_public_employee",
    "village_cadre": "has_village_cadre",
    "dropout": "has_dropout",
}


# --------------------------------------------------------------------------------------
# Normalisation helpers
# --------------------------------------------------------------------------------------
_SPACES = re.compile(r"\s+")
_HINT = re.compile(ANSWER_HINT)
_TRAILING_BRACKET = re.compile(r"\(([^()]*)\)$")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")"})


def fold_width(text: str) -> str:
    """Full-width digits, letters, punctuation and spaces → half-width (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def split_header(text: object) -> tuple[str, str]:
    """(normalised header, unit written in it): NFKC, lower case, every space removed (also inside
    ``姓  名``), brackets unified to ``()``, ``*`` and trailing colons dropped, answer hints such as
    ``(是/否)`` ``(√)`` dropped, and a trailing unit in brackets (``(万元)``, ``(亩)``, ``(单位:元)``)
    split off (``UNITS``)."""
    s = fold_width(str(text)).strip().lower()
    s = _SPACES.sub("", s).translate(_BRACKETS)
    s = s.strip("*:").replace(":)", ")")
    unit = ""
    for _ in range(3):  # 人均纯收入(万元)(是/否) …: hints and units in any order at the end
        before = s
        s = _HINT.sub("", s).rstrip(":")
        m = _TRAILING_BRACKET.search(s)
        if m and not unit:
            u = m.group(1).removeprefix("单位").lstrip(":")
            if u in UNITS:
                unit, s = u, s[: m.start()].rstrip(":")
        if s == before:
            break
    return s, unit


def normalise_header(text: object) -> str:
    """Normalise a header cell for alias matching (:func:`split_header` without the unit)."""
    return split_header(text)[0]


def _build_alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for f in FIELDS.values():
        for alias in (f.name, f.zh, *f.aliases):
            key = normalise_header(alias)
            if key in index and index[key] != f.name:
                # household head fields win over member fields for shared names
                continue
            index[key] = f.name
    return index


HEADER_ALIASES: dict[str, str] = _build_alias_index()


def field_for_header(text: object, *, any_form: bool = False) -> str | None:
    """Canonical field name for a header text, or None.

    By default only a label that maps to the field as written (same polarity, no unit scale): for
    callers that rename columns and cannot negate or scale their values.  ``any_form``: every label
    the reader accepts, inverted-polarity (房屋是否安全 → unsafe_housing) and unit-carrying
    (人均纯收入(万元) → income_per_capita) ones too — for callers that only need *which* field a label
    names (``--allow-missing``).  The full matcher, with polarity and scale, is
    :func:`fupin_cli.headers.match_header` (column maps use it)."""
    if text is None:
        return None
    from fupin_cli.headers import match_header

    m = match_header(str(text))
    if m is None:
        return None
    return m.field if any_form or (not m.inverted and m.scale == 1.0) else None


def _build_value_index() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, entries in CODE_TABLES.items():
        idx: dict[str, str] = {}
        for label, spellings in entries.items():
            for s in (label, *spellings):
                idx[normalise_value(s)] = label
        out[table] = idx
    return out


def normalise_value(text: object) -> str:
    s = fold_width(str(text)).strip().lower()
    s = _SPACES.sub("", s).replace("（", "(").replace("）", ")")
    return s


VALUE_INDEX: dict[str, dict[str, str]] = _build_value_index()


def canonical_value(table: str, value: object) -> str | None:
    """Canonical label of ``value`` in code table ``table``; None when not recognised."""
    if value is None:
        return None
    return VALUE_INDEX[table].get(normalise_value(value))


def label(name: str, lang: str = "zh") -> str:
    """Output label of a canonical or decision field (``zh`` default, ``en`` gives the name)."""
    if name in DECISION_FIELDS:
        return DECISION_FIELDS[name][0 if lang == "zh" else 1]
    if lang == "en":
        return name
    f = FIELDS.get(name)
    return f.zh if f else name
