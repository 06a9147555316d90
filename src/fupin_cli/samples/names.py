"""Word pools for synthetic names and places (never real people).

Personal names are a common surname plus one or two given-name characters drawn at random;
township and village names are two characters from a pool of place-name characters plus
镇/乡/村.  Every character is in GBK so the samples can be written as GBK CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# weights: the first surnames are much more common
SURNAME_WEIGHTS = [1.0 / (1 + i * 0.08) for i in range(len(SURNAMES))]

MALE_CHARS = list("伟强军明永建国华平林志勇杰涛斌超刚鹏辉成荣海德福贵生兴文云祥光福春全友福顺发学忠金山宝良")
FEMALE_CHARS = list("芳秀英华玉兰珍梅丽霞娟敏静燕红琴凤云莲桂娥翠萍艳春菊香美琼婷雪芬淑慧巧")

PLACE_CHARS = list("青山河坪溪石桥岭龙凤安平和兴丰白云水马家沟湾坝塘田岩竹林高新太阳东西南北大小长清花龟金银")
UNITS = [
    "县扶贫办", "县农业局", "县林业局", "县水务局", "县交通局", "县教育局", "县卫计委", "县财政局",
    "县住建委", "县民政局", "县人社局", "县国土局", "县供销社", "县农商行", "县委组织部", "县委宣传部",
    "县公安局", "县国税局", "县地税局", "县气象局", "乡镇政府", "县人民医院", "县中学", "县电力公司",
]
BANKS = ["农村商业银行", "农村信用社", "中国农业银行", "中国邮政储蓄银行"]
ETHNIC_MINORITIES = ["土家族", "苗族", "彝族", "回族", "侗族", "布依族"]


@dataclass(frozen=True)
class County:
    province: str
    city: str
    county: str
    code: int  # GB/T 2260 address code
    neighbours: tuple[int, ...]  # codes seen on IDs of people born nearby
    minority_share: float  # share of ethnic-minority people
    minority: str


COUNTIES: dict[str, County] = {
    "丰都县": County("重庆市", "重庆市", "丰都县", 500230, (500233, 500102, 500236), 0.06, "土家族"),
    "石柱土家族自治县": County("重庆市", "重庆市", "石柱土家族自治县", 500240, (500230, 500233, 422826), 0.75, "土家族"),
    "威宁彝族回族苗族自治县": County("贵州省", "毕节市", "威宁彝族回族苗族自治县", 522427, (522401, 530324), 0.25, "彝族"),
    "石泉县": County("陕西省", "安康市", "石泉县", 610922, (610921, 610902), 0.01, "回族"),
    "元谋县": County("云南省", "楚雄彝族自治州", "元谋县", 532328, (532301, 532322), 0.3, "彝族"),  # monitoring samples: 云南 has a verified 2023 line
    "平乡县": County("河北省", "邢台市", "平乡县", 130532, (130531, 130533), 0.01, "回族"),
}
DEFAULT_COUNTY = "丰都县"
