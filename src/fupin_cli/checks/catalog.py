"""Every built-in check: id → severity, Chinese label (for summaries) and fix hint.

Severity: ``error`` = the record is wrong and must be corrected (``fupin validate`` exits 1);
``warning`` = a 疑点 to verify (may be right); ``info`` = worth knowing, nothing to fix.
The national 疑点 list (domain.md §5.4) is the source of most checks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckInfo:
    severity: str
    label: str
    hint: str


def _c(severity: str, label: str, hint: str) -> CheckInfo:
    return CheckInfo(severity, label, hint)


_ID_HINT = "按身份证原件逐位核对并改正；单元格请设为文本格式"

CHECKS: dict[str, CheckInfo] = {
    # ---- ID numbers (GB 11643) ------------------------------------------------------------
    "id.excel_number": _c("error", "证件号码被存成数字", "将该列设为文本格式后按身份证原件重新录入（数字格式已丢失末几位，无法恢复）"),
    "id.characters": _c("error", "证件号码含非法字符", _ID_HINT),
    "id.length": _c("error", "证件号码位数错误", _ID_HINT),
    "id.birth_date": _c("error", "证件号码出生日期无效", _ID_HINT),
    "id.checksum": _c("error", "证件号码校验位错误", _ID_HINT),
    "id.upgraded_15": _c("warning", "15 位旧证件号码", "改为 18 位号码（信息中已给出升级后号码的掩码，请以户口簿为准）"),
    "id.disability": _c("info", "残疾证号码", "证件号码列填写的是残疾证号码；如有身份证号码请填写身份证号码"),
    "id.sex_mismatch": _c("error", "性别与证件号码不符", "核对性别或证件号码（第 17 位奇数为男、偶数为女）"),
    "id.birth_mismatch": _c("error", "出生日期与证件号码不符", "核对出生日期或证件号码第 7–14 位"),
    "id.duplicate_household": _c("error", "同一人登记在多户", "核实此人户籍，只保留在实际所在户"),
    "id.duplicate_member": _c("error", "同一人在本户重复登记", "删除重复的成员行"),
    # ---- required values --------------------------------------------------------------------
    "required.column": _c("error", "缺少必填列", "在花名册中补上该列（表头可用中文或英文名，见 docs/validate.md）"),
    "required.value": _c("error", "必填项为空", "补填该项"),
    "recommended.value": _c("warning", "应填项为空", "补填该项"),
    "required.disability_cert": _c("warning", "残疾人无残疾证号", "补填残疾证号；无证的请核实健康状况"),
    # ---- household structure ----------------------------------------------------------------
    "household.duplicate_id": _c("error", "户编号重复", "每户只能有一个户编号；合并或改正重复的户"),
    "household.size_invalid": _c("error", "家庭人口数无效", "家庭人口数应为 1 以上的整数"),
    "household.size_mismatch": _c("error", "家庭人口数与成员人数不符", "核对家庭人口数或补录/删除成员"),
    "household.no_head": _c("error", "无户主", "将一名成员的与户主关系设为“户主”"),
    "household.multiple_heads": _c("error", "多个户主", "每户只能有一名户主"),
    "household.head_spouse_same_sex": _c("error", "户主与配偶性别相同", "核对户主、配偶的性别或与户主关系"),
    "household.multiple_spouses": _c("warning", "多个配偶", "核对与户主关系"),
    "household.head_name_mismatch": _c("warning", "户主姓名与户主成员不符", "核对户主姓名"),
    "household.head_id_mismatch": _c("warning", "户主证件号码与户主成员不符", "核对户主证件号码"),
    # ---- members ----------------------------------------------------------------------------
    "member.relation_sex": _c("error", "与户主关系与性别矛盾", "核对与户主关系或性别"),
    "member.age_school": _c("warning", "年龄与在校生状况不符", "核对出生日期或在校生状况"),
    "member.compulsory_not_in_school": _c("warning", "义务教育阶段适龄儿童未在校", "核实是否辍学（控辍保学）；送教上门或已毕业的请注明"),
    "member.age_invalid": _c("warning", "年龄异常", "核对出生日期或证件号码"),
    "member.healthy_no_labour": _c("warning", "劳动年龄健康人口无劳动能力", "核对健康状况或劳动技能"),
    "member.work_months_range": _c("error", "务工时间超出 0–12 个月", "务工时间填 0–12 的月数"),
    "member.work_no_months": _c("warning", "有务工地点但务工时间为 0", "核对务工状况或务工时间"),
    "member.work_no_labour": _c("warning", "无劳动能力却外出务工", "核对劳动技能或务工状况"),
    # ---- income -----------------------------------------------------------------------------
    "income.negative": _c("error", "收入项为负数", "收入、支出应为非负数"),
    "income.net_mismatch": _c("error", "纯收入与各项收入不符", "纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性收入 − 生产经营性支出"),
    "income.per_capita_mismatch": _c("error", "人均纯收入与纯收入/人口数不符", "人均纯收入 = 纯收入 ÷ 家庭人口数"),
    "income.per_capita_range": _c("warning", "人均纯收入 ≤ 0 或 > 100,000", "核实收入及单位（元/年）"),
    "income.transfer_parts": _c("warning", "转移性收入小于其分项之和", "转移性收入应包含低保金、特困供养金、养老金、计划生育金、生态补偿金等"),
    "income.business_no_expense": _c("info", "有经营收入无经营支出", "核实生产经营性支出"),
    "income.wage_small": _c("warning", "工资性收入在 0–300 元之间", "核实工资性收入（元/年）"),
    "income.small_benefit": _c("warning", "补贴金额偏低", "核实金额（元/年）"),
    "income.eco_no_land": _c("warning", "有生态补偿金无退耕还林面积", "核对生态补偿金或退耕还林面积"),
    "income.wage_no_worker": _c("warning", "有工资性收入无务工人员", "核对工资性收入或成员务工状况"),
    "income.worker_no_wage": _c("warning", "有务工人员无工资性收入", "核对工资性收入或成员务工状况"),
    # ---- 低保 / 特困 ---------------------------------------------------------------------------
    "assist.dibao_no_member": _c("warning", "低保户无享受低保成员", "核对是否低保户或成员是否享受低保"),
    "assist.member_dibao_not_household": _c("warning", "非低保户有成员享受低保", "核对户属性或成员是否享受低保"),
    "assist.tekun_no_member": _c("warning", "特困供养户无特困供养成员", "核对户属性或成员是否特困供养"),
    "assist.tekun_labourer": _c("warning", "特困供养户有劳动年龄健康劳动力", "特困供养对象应无劳动能力；核对户属性或成员情况"),
    "assist.both_benefits": _c("warning", "同时领取低保金和特困供养金", "低保与特困供养不应同时享受；核对金额"),
    "assist.dibao_no_benefit": _c("warning", "低保户低保金为 0", "补填低保金或核对户属性"),
    "assist.tekun_no_benefit": _c("warning", "特困供养户特困供养金为 0", "补填特困供养金或核对户属性"),
    # ---- 致贫原因 -----------------------------------------------------------------------------
    "cause.ill_all_healthy": _c("warning", "因病致贫但成员均健康", "核对致贫原因或成员健康状况"),
    "cause.study_no_student": _c("warning", "因学致贫但无在校生", "核对致贫原因或成员在校生状况"),
    "cause.disabled_nobody": _c("warning", "因残致贫但无残疾成员", "核对致贫原因或成员健康状况"),
    "cause.labour_shortage_with_labourers": _c("warning", "缺劳力但有 2 个以上健康劳动力", "核对致贫原因或成员劳动技能"),
    "cause.secondary_repeats_primary": _c("warning", "其他致贫原因与主要致贫原因重复", "其他致贫原因不要重复填写主要致贫原因"),
    # ---- 帮扶责任人 --------------------------------------------------------------------------
    "assist.no_responsible_person": _c("warning", "贫困户未落实帮扶责任人", "补填帮扶责任人（结对帮扶）"),
    "assist.responsible_is_poor": _c("warning", "帮扶责任人是贫困户成员", "帮扶责任人不能是贫困户家庭成员；核对帮扶责任人"),
    # ---- 脱贫户 -------------------------------------------------------------------------------
    "exit.unsolved_guarantees": _c("warning", "脱贫户未解决两不愁三保障", "核实脱贫状态，或落实住房、饮水、义务教育、医疗保障后再标注脱贫"),
    # ---- the reader's notes (io/read*.py): labels for summaries; the notes carry their own hints ----
    "read.blank_row": _c("info", "空行已跳过", "无需修改"),
    "read.total_row": _c("info", "合计/小计行已跳过", "无需修改"),
    "read.repeated_header": _c("info", "重复的表头行已跳过", "无需修改"),
    "read.unknown_columns": _c("info", "未识别的列（按原样保留）", "如果是标准字段，请改用标准列名（见 docs/reading.md）"),
    "read.passthrough": _c("info", "未识别的列（按原样保留）", "如果是标准字段，请改用标准列名（见 docs/reading.md）"),
    "read.bad_value": _c("error", "单元格的值无法识别（按空值处理）", "按该列的类型改正（数字、日期、是/否）"),
    "read.unknown_code": _c("warning", "代码表外的值（按原样保留）", "改用代码表中的值"),
    "read.no_household": _c("error", "成员无法归户（户编号为空）", "填写该成员的户编号"),
    "read.household_conflict": _c("warning", "同一户的户级信息不一致", "同一户的户级信息应当一致：核实后统一填写"),
    "read.head_columns": _c("info", "户表中的成员列按户主信息读取", "核对列名"),
    "read.member_columns_ignored": _c("info", "每行一户的表中成员列未读取", "成员信息请按每人一行填写"),
    "read.head_from_members": _c("info", "户主信息取自户主成员行", "无需修改"),
    "id.stored_as_number": _c("error", "证件号码存成数字（精度已丢失）", "在 Excel 中把该列设为“文本”格式，再按证件原件重新录入"),
    # ---- io/guard.py: values that cannot be trusted --------------------------------------------
    "read.formula_error": _c("error", "公式结果是错误值（按空值处理）", "在 Excel 中修正该公式，或改填数值"),
    "read.formula_no_value": _c("warning", "公式没有计算结果（读作空值）", "在 Excel 中打开，按 F9 重新计算后保存"),
    "read.formula_zero": _c("warning", "公式结果为 0（请核实）", "核对公式引用的单元格"),
    "income.implausible": _c("warning", "人均纯收入不足 10 元（不可信）", "核实收入；以万元填写时请写成“0.5万”或换算为元"),
}


def label_of(check: str, extra: dict[str, str] | None = None) -> str:
    """Chinese label of a check id: the built-in catalog, then ``extra`` (e.g. a pack's check rules)."""
    info = CHECKS.get(check)
    if info:
        return info.label
    return (extra or {}).get(check, check)

