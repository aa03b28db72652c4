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

/// An application that follows [`porcelain_challenge`]: 50% on signing, 30% at the mid-term
/// milestone, 20% at the final one, which promises the mandatory 550 kN.
pub fn application_for(team: &crate::support::Team) -> pb::Application {
    pb::Application {
        title: "高强度瓷绝缘子配方与梯度烧成工艺".into(),
        team: Some(pb::Team {
            lead_organization: String::new(),
            partner_organizations: vec![],
            lead_person: team.lead_name.clone(),
            members: vec![pb::TeamMember {
                user: team.lead_name.clone(),
                display_name: "李工".into(),
                organization: team.org.clone(),
                role: pb::TeamRole::Lead as i32,
                duty: "总体技术负责".into(),
            }],
        }),
        technical_plan: "采用高铝瓷配方，梯度烧成控制晶相，在线监测窑温。".into(),
        requested_budget_fen: 350_000_000,
        signing_share_basis_points: 5_000,
        proposed_milestones: vec![
            pb::ProposedMilestone {
                title: "中期：样品试制与型式试验".into(),
                deliverables: vec!["样品 20 只".into()],
                due_after_months: 12,
                indicator_targets: vec![pb::IndicatorTarget {
                    indicator: "机电破坏负荷".into(),
                    target_value: "500".into(),
                }],
                share_basis_points: 3_000,
                mid_term: true,
            },
            pb::ProposedMilestone {
                title: "结题：小批量试产".into(),
                deliverables: vec!["第三方检测报告".into()],
                due_after_months: 24,
                indicator_targets: vec![pb::IndicatorTarget {
                    indicator: "机电破坏负荷".into(),
                    target_value: "560".into(),
                }],
                share_basis_points: 2_000,
                mid_term: false,
            },
        ],
        contacts: vec![pb::Contact {
            person: "李工".into(),
            phone: "13800000000".into(),
            email: String::new(),
        }],
        ..Default::default()
    }
}

pub const PLEDGE: &str = "本团队承诺按期完成全部考核指标，如未达到，愿承担相应责任。";

/// A submission with the pledge signed at `now` by the team's lead person.
pub fn submission(
    team: &crate::support::Team,
    name: &str,
    now: jiebang_domain::Timestamp,
) -> pb::SubmitApplicationRequest {
    pb::SubmitApplicationRequest {
        name: name.into(),
        etag: String::new(),
        pledge: Some(pb::ResponsibilityPledge {
            signer: team.lead_name.clone(),
            sign_time: Some(jiebang_grpc::convert::to_proto_time(now)),
            text: PLEDGE.into(),
            ..Default::default()
        }),
        validate_only: false,
        request_id: String::new(),
    }
}
