//! The demo's sample world: the city's organisations and people, two challenges from its
//! industries (electric porcelain, air compressors), and what each team proposes, reports and
//! is scored. Fictional names; realistic content.

use jiebang_proto::v1 as pb;

/// Which of the demo's two challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Electric porcelain insulators: one winner.
    Porcelain,
    /// Screw air compressors: two winners race (赛马制), one is cut at mid-term.
    Compressor,
}

pub struct OrgSpec {
    pub key: &'static str,
    pub name: &'static str,
    pub org_type: pb::OrganizationType,
    pub region: &'static str,
}

pub const ORGS: &[OrgSpec] = &[
    org(
        "ojdc",
        "瓯江电瓷股份有限公司",
        pb::OrganizationType::Enterprise,
        "330100",
    ),
    org(
        "qjys",
        "衢江压缩机股份有限公司",
        pb::OrganizationType::Enterprise,
        "330800",
    ),
    org(
        "dhgd",
        "东海工业大学",
        pb::OrganizationType::University,
        "330100",
    ),
    org(
        "oyxc",
        "瓯越新材料科技有限公司",
        pb::OrganizationType::Enterprise,
        "330300",
    ),
    org(
        "hddl",
        "华电电子电路有限公司",
        pb::OrganizationType::Enterprise,
        "330100",
    ),
    org(
        "dhlg",
        "东海理工大学",
        pb::OrganizationType::University,
        "330100",
    ),
    org(
        "qzlt",
        "衢州流体机械有限公司",
        pb::OrganizationType::Enterprise,
        "330800",
    ),
    org(
        "xjcl",
        "市先进材料研究院",
        pb::OrganizationType::Institute,
        "330100",
    ),
    org(
        "clsy",
        "市材料研究所",
        pb::OrganizationType::Institute,
        "330100",
    ),
    org(
        "jlky",
        "省计量科学研究院",
        pb::OrganizationType::Institute,
        "330100",
    ),
    org(
        "dlky",
        "省电力科学研究院",
        pb::OrganizationType::Institute,
        "330100",
    ),
    org(
        "ltjx",
        "西湖流体机械研究所",
        pb::OrganizationType::Institute,
        "330100",
    ),
    org(
        "tjy",
        "省特种设备检验研究院",
        pb::OrganizationType::Institute,
        "330100",
    ),
];

const fn org(
    key: &'static str,
    name: &'static str,
    org_type: pb::OrganizationType,
    region: &'static str,
) -> OrgSpec {
    OrgSpec {
        key,
        name,
        org_type,
        region,
    }
}

/// A person with an account. Usernames are stable, so a second run finds them again.
pub struct PersonSpec {
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: pb::Role,
    pub org: &'static str,
}

const fn person(
    username: &'static str,
    display_name: &'static str,
    role: pb::Role,
    org: &'static str,
) -> PersonSpec {
    PersonSpec {
        username,
        display_name,
        role,
        org,
    }
}

pub const PUBLISHERS: &[PersonSpec] = &[
    person("demo.wang", "王建国", pb::Role::Publisher, "ojdc"),
    person("demo.qian", "钱立新", pb::Role::Publisher, "qjys"),
];

/// A team: its lead person, the challenge it applies to and how its story goes.
pub struct TeamSpec {
    pub lead: PersonSpec,
    pub which: Which,
    pub fate: Fate,
    pub title: &'static str,
    /// Scores as fractions of each criterion's weight, one per reviewing expert.
    pub scores: [&'static str; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Reviewed,
    /// Refused at submission by an eligibility rule.
    Ineligible,
    /// Withdraws before the deadline.
    Withdraws,
}

pub const TEAMS: &[TeamSpec] = &[
    TeamSpec {
        lead: person("demo.li", "李明远", pb::Role::TeamMember, "dhgd"),
        which: Which::Porcelain,
        fate: Fate::Reviewed,
        title: "高强度瓷绝缘子配方与梯度烧成工艺",
        scores: ["0.90", "0.86", "0.88"],
    },
    TeamSpec {
        lead: person("demo.zhao", "赵海峰", pb::Role::TeamMember, "oyxc"),
        which: Which::Porcelain,
        fate: Fate::Reviewed,
        title: "纳米改性釉料与等静压成型瓷绝缘子",
        // Thirty points apart: the panel's dispersion check flags it.
        scores: ["0.92", "0.62", "0.70"],
    },
    TeamSpec {
        lead: person("demo.sun", "孙晓梅", pb::Role::TeamMember, "hddl"),
        which: Which::Porcelain,
        fate: Fate::Withdraws,
        title: "瓷绝缘子在线局放监测电路",
        scores: ["0", "0", "0"],
    },
    TeamSpec {
        lead: person("demo.zhou", "周文涛", pb::Role::TeamMember, "dhlg"),
        which: Which::Compressor,
        fate: Fate::Reviewed,
        title: "两级压缩螺杆转子型线优化与喷油冷却",
        scores: ["0.80", "0.83", "0.78"],
    },
    TeamSpec {
        lead: person("demo.wu", "吴国栋", pb::Role::TeamMember, "qzlt"),
        which: Which::Compressor,
        fate: Fate::Reviewed,
        title: "永磁变频螺杆空压机整机能效提升",
        scores: ["0.86", "0.84", "0.88"],
    },
    TeamSpec {
        lead: person("demo.zheng", "郑一鸣", pb::Role::TeamMember, "xjcl"),
        which: Which::Compressor,
        fate: Fate::Ineligible,
        title: "空压机转子表面涂层材料",
        scores: ["0", "0", "0"],
    },
];

/// An expert of the pool: affiliation, field and keywords. Some sit in a team's or a
/// publisher's organisation: real conflicts the assignment must respect.
pub struct ExpertSpec {
    pub person: PersonSpec,
    pub field: &'static str,
    pub keywords: &'static [&'static str],
}

pub const EXPERTS: &[ExpertSpec] = &[
    expert(
        "demo.e.zhou",
        "周振华",
        "clsy",
        "electric_porcelain",
        &["烧成", "晶相"],
    ),
    expert(
        "demo.e.zheng",
        "郑国平",
        "jlky",
        "electric_porcelain",
        &["机电性能", "检测"],
    ),
    expert(
        "demo.e.sun",
        "孙立群",
        "dlky",
        "electric_porcelain",
        &["绝缘子", "运行"],
    ),
    // Works at 东海工业大学, whose team applies: never reviews it.
    expert(
        "demo.e.chen",
        "陈雪梅",
        "dhgd",
        "electric_porcelain",
        &["釉料"],
    ),
    // Works for the publisher: reviews nobody in its challenge.
    expert(
        "demo.e.hu",
        "胡德明",
        "ojdc",
        "electric_porcelain",
        &["烧成"],
    ),
    expert(
        "demo.e.qin",
        "秦志远",
        "ltjx",
        "air_compressors",
        &["转子型线", "能效"],
    ),
    expert(
        "demo.e.feng",
        "冯卫东",
        "tjy",
        "air_compressors",
        &["压力容器", "能效"],
    ),
    expert(
        "demo.e.jiang",
        "蒋丽华",
        "tjy",
        "air_compressors",
        &["噪声", "检测"],
    ),
    // Works at 东海理工大学, whose team applies.
    expert(
        "demo.e.wei",
        "卫子健",
        "dhlg",
        "air_compressors",
        &["喷油冷却"],
    ),
    // Works for the compressor publisher.
    expert("demo.e.chu", "褚建平", "qjys", "air_compressors", &["整机"]),
];

const fn expert(
    username: &'static str,
    display_name: &'static str,
    org: &'static str,
    field: &'static str,
    keywords: &'static [&'static str],
) -> ExpertSpec {
    ExpertSpec {
        person: person(username, display_name, pb::Role::Expert, org),
        field,
        keywords,
    }
}

impl Which {
    pub fn field(self) -> &'static str {
        match self {
            Which::Porcelain => "electric_porcelain",
            Which::Compressor => "air_compressors",
        }
    }

    pub fn publisher(self) -> &'static PersonSpec {
        match self {
            Which::Porcelain => &PUBLISHERS[0],
            Which::Compressor => &PUBLISHERS[1],
        }
    }

    /// The indicator the milestones report on.
    pub fn key_indicator(self) -> &'static str {
        match self {
            Which::Porcelain => "机电破坏负荷",
            Which::Compressor => "比功率",
        }
    }
}

/// The challenge as its publisher drafts it, for the given round.
pub fn challenge(which: Which, round: &str) -> pb::Challenge {
    let common = pb::Challenge {
        criteria: vec![
            criterion(
                "技术路线与可行性",
                pb::CriterionKind::TechnicalFeasibility,
                40,
            ),
            criterion("团队能力", pb::CriterionKind::TeamCapability, 25),
            criterion("预算合理性", pb::CriterionKind::Budget, 15),
            criterion("产业化与用户价值", pb::CriterionKind::Industrialisation, 20),
        ],
        tranches: vec![
            tranche(pb::TrancheTrigger::OnSigning, 5_000),
            tranche(pb::TrancheTrigger::MidTerm, 3_000),
            tranche(pb::TrancheTrigger::Final, 2_000),
        ],
        responsible_department: "市科技局高新技术处".into(),
        duration_months: 24,
        blind_review: true,
        round: round.into(),
        ..Default::default()
    };
    match which {
        Which::Porcelain => pb::Challenge {
            title: "特高压瓷绝缘子机电性能一致性提升".into(),
            problem: "国产特高压瓷绝缘子机电破坏负荷离散度大，批次一致性差，依赖进口。".into(),
            goals: "研制机电破坏负荷不低于 550 kN、批次离散度不高于 5% 的瓷绝缘子并小批量试产。"
                .into(),
            indicators: vec![
                indicator("机电破坏负荷", "550", "kN", pb::Comparison::AtLeast, true),
                indicator("批次离散度", "5", "%", pb::Comparison::AtMost, false),
            ],
            end_user: "瓯江电瓷特高压产品生产线".into(),
            government_funding_fen: 300_000_000,
            co_funding_fen: 100_000_000,
            industry_field: "electric_porcelain".into(),
            eligibility: Some(eligibility(&[
                pb::OrganizationType::Enterprise,
                pb::OrganizationType::University,
            ])),
            winners_count: 1,
            contact: Some(contact("王建国", "0571-86001234")),
            ..common
        },
        Which::Compressor => pb::Challenge {
            title: "两级压缩螺杆空压机能效攻关".into(),
            problem: "在用螺杆空压机比功率普遍高于一级能效限值，行业年耗电量巨大。".into(),
            goals: "研制比功率不高于 5.6 kW/(m³/min) 的两级压缩螺杆空压机，达到一级能效。".into(),
            indicators: vec![
                indicator("比功率", "5.6", "kW/(m³/min)", pb::Comparison::AtMost, true),
                indicator("整机噪声", "72", "dB(A)", pb::Comparison::AtMost, false),
            ],
            end_user: "衢江压缩机整机装配线".into(),
            government_funding_fen: 500_000_000,
            co_funding_fen: 200_000_000,
            industry_field: "air_compressors".into(),
            eligibility: Some(eligibility(&[
                pb::OrganizationType::Enterprise,
                pb::OrganizationType::University,
            ])),
            // Two winners race; the weaker is stopped at mid-term (赛马制).
            winners_count: 2,
            contact: Some(contact("钱立新", "0570-83005678")),
            ..common
        },
    }
}

/// What a team proposes: 50% on signing, 30% at the mid-term milestone after 12 months, 20%
/// at the final one after 24.
pub fn application(team: &TeamSpec, lead_user: &str, lead_org: &str) -> pb::Application {
    let (mid, last, budget) = match team.which {
        Which::Porcelain => ("500", "560", 350_000_000),
        Which::Compressor => ("6.0", "5.5", 320_000_000),
    };
    let key = team.which.key_indicator();
    pb::Application {
        title: team.title.into(),
        team: Some(pb::Team {
            lead_person: lead_user.into(),
            members: vec![pb::TeamMember {
                user: lead_user.into(),
                display_name: team.lead.display_name.into(),
                organization: lead_org.into(),
                role: pb::TeamRole::Lead as i32,
                duty: "总体技术负责".into(),
            }],
            ..Default::default()
        }),
        technical_plan: format!(
            "{}：先做机理分析与小试，再做中试验证，最后在用户产线上考核。",
            team.title
        ),
        requested_budget_fen: budget,
        signing_share_basis_points: 5_000,
        proposed_milestones: vec![
            pb::ProposedMilestone {
                title: "中期：样机试制与型式试验".into(),
                deliverables: vec!["样机及第三方检测报告".into()],
                due_after_months: 12,
                indicator_targets: vec![target(key, mid)],
                share_basis_points: 3_000,
                mid_term: true,
            },
            pb::ProposedMilestone {
                title: "结题：小批量试产与用户验证".into(),
                deliverables: vec!["用户使用报告".into(), "第三方检测报告".into()],
                due_after_months: 24,
                indicator_targets: vec![target(key, last)],
                share_basis_points: 2_000,
                mid_term: false,
            },
        ],
        contacts: vec![contact(team.lead.display_name, "13800000000")],
        ..Default::default()
    }
}

pub const PLEDGE: &str =
    "本团队承诺按期完成全部考核指标；如未达到，愿按约定承担相应责任（军令状）。";

/// A score sheet giving `fraction` of every criterion's weight.
pub fn score_sheet(fraction: &str) -> pb::ScoreSheet {
    let f: f64 = fraction.parse().unwrap_or(0.0);
    let line = |name: &str, weight: f64| pb::CriterionScore {
        criterion: name.into(),
        score: format!("{:.2}", weight * f),
        comment: format!("{name}：论证较充分，依据明确，与考核指标对应。"),
    };
    pb::ScoreSheet {
        criterion_scores: vec![
            line("技术路线与可行性", 40.0),
            line("团队能力", 25.0),
            line("预算合理性", 15.0),
            line("产业化与用户价值", 20.0),
        ],
        overall_comment: "总体评价：技术路线可行，团队具备相应能力，预算编制基本合理，\
                          产业化前景明确，建议中期重点核查关键工艺的一致性与第三方检测数据。"
            .into(),
        recommendation: pb::Recommendation::Recommend as i32,
        ..Default::default()
    }
}

pub fn report(which: Which, value: &str) -> pb::MilestoneReport {
    pb::MilestoneReport {
        measured_values: vec![pb::MeasuredValue {
            indicator: which.key_indicator().into(),
            value: value.into(),
            ..Default::default()
        }],
        narrative: "按计划完成本阶段工作，样机经第三方检测，数据详见检测报告。".into(),
        ..Default::default()
    }
}

fn criterion(name: &str, kind: pb::CriterionKind, weight: i32) -> pb::Criterion {
    pb::Criterion {
        name: name.into(),
        kind: kind as i32,
        weight,
        guidance: String::new(),
    }
}

fn tranche(trigger: pb::TrancheTrigger, share: i32) -> pb::Tranche {
    pb::Tranche {
        trigger: trigger as i32,
        share_basis_points: share,
        description: String::new(),
    }
}

fn indicator(
    name: &str,
    value: &str,
    unit: &str,
    comparison: pb::Comparison,
    mandatory: bool,
) -> pb::Indicator {
    pb::Indicator {
        name: name.into(),
        target_value: value.into(),
        unit: unit.into(),
        comparison: comparison as i32,
        test_method: "第三方检测机构型式试验".into(),
        mandatory,
    }
}

fn eligibility(types: &[pb::OrganizationType]) -> pb::Eligibility {
    pb::Eligibility {
        organization_types: types.iter().map(|t| *t as i32).collect(),
        region_prefixes: vec![],
        max_partners: Some(4),
        max_applications_per_organization: 3,
        bar_past_winners: false,
    }
}

fn contact(person: &str, phone: &str) -> pb::Contact {
    pb::Contact {
        person: person.into(),
        phone: phone.into(),
        email: String::new(),
    }
}

fn target(indicator: &str, value: &str) -> pb::IndicatorTarget {
    pb::IndicatorTarget {
        indicator: indicator.into(),
        target_value: value.into(),
    }
}

/// A valid unified social credit code (GB 32100-2015) derived from the organisation's key, so
/// every run finds the same organisation again.
pub fn credit_code(key: &str) -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let hash = key.bytes().fold(0x6a09_e667_f3bc_c908_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let first17 = format!("91{:015}", hash % 1_000_000_000_000_000);
    let sum: u32 = first17
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .zip(WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{first17}{}", char::from(CHARSET[check as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_in_the_sample_world_resolves() {
        let org_keys: Vec<&str> = ORGS.iter().map(|o| o.key).collect();
        let people = PUBLISHERS
            .iter()
            .chain(TEAMS.iter().map(|t| &t.lead))
            .chain(EXPERTS.iter().map(|e| &e.person));
        for p in people {
            assert!(
                org_keys.contains(&p.org),
                "{} has no organisation",
                p.username
            );
        }
        let mut codes: Vec<String> = ORGS.iter().map(|o| credit_code(o.key)).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ORGS.len(), "credit codes are distinct");
    }

    #[test]
    fn credit_codes_pass_the_servers_own_check() {
        for org in ORGS {
            let code = credit_code(org.key);
            assert_eq!(
                jiebang_domain::identity::validate_credit_code(&code),
                Ok(()),
                "{code}"
            );
        }
    }
}
