//! Sample data: challenges as the city's publishers would write them.

use jiebang_proto::v1 as pb;

/// A complete, valid challenge of the electric porcelain industry.
pub fn porcelain_challenge(title: &str) -> pb::Challenge {
    pb::Challenge {
        title: title.into(),
        problem: "国产特高压瓷绝缘子机电性能离散度大，批次一致性差。".into(),
        goals: "研制机电破坏负荷不低于 550 kN、批次离散度不高于 5% 的瓷绝缘子。".into(),
        indicators: vec![
            pb::Indicator {
                name: "机电破坏负荷".into(),
                target_value: "550".into(),
                unit: "kN".into(),
                comparison: pb::Comparison::AtLeast as i32,
                test_method: "GB/T 1001.1 型式试验，第三方检测报告".into(),
                mandatory: true,
            },
            pb::Indicator {
                name: "批次离散度".into(),
                target_value: "5".into(),
                unit: "%".into(),
                comparison: pb::Comparison::AtMost as i32,
                test_method: "连续三批抽样".into(),
                mandatory: false,
            },
        ],
        end_user: "本市电瓷龙头企业生产线".into(),
        government_funding_fen: 300_000_000,
        co_funding_fen: 100_000_000,
        duration_months: 24,
        industry_field: "electric_porcelain".into(),
        eligibility: Some(pb::Eligibility {
            organization_types: vec![
                pb::OrganizationType::Enterprise as i32,
                pb::OrganizationType::University as i32,
            ],
            region_prefixes: vec![],
            max_partners: Some(4),
            max_applications_per_organization: 3,
            bar_past_winners: false,
        }),
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
        winners_count: 1,
        tranches: vec![
            tranche(pb::TrancheTrigger::OnSigning, 5_000),
            tranche(pb::TrancheTrigger::MidTerm, 3_000),
            tranche(pb::TrancheTrigger::Final, 2_000),
        ],
        responsible_department: "市科技局高新技术处".into(),
        contact: Some(pb::Contact {
            person: "王工".into(),
            phone: "0571-88888888".into(),
            email: "wang@example.cn".into(),
        }),
        blind_review: true,
        round: "2026-1".into(),
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
