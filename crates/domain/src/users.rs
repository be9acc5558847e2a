//! Users and roles. The three administrators a Chinese government system separates (系统管理员,
//! 安全管理员, 审计管理员) and the business roles, scoped by organization.

use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员: users and settings, no business data.
    SysAdmin,
    /// 安全管理员: roles and policies.
    SecAdmin,
    /// 审计管理员: reads the audit log.
    Auditor,
    /// 项目管理: the front command, all of its program.
    Manager,
    /// 填报员: records of its own organization and those below it.
    Reporter,
    /// 查看: reads, personal data masked.
    Viewer,
}

pub const ROLES: &[(Role, &str, &str)] = &[
    (Role::SysAdmin, "sysadmin", "系统管理员"),
    (Role::SecAdmin, "secadmin", "安全管理员"),
    (Role::Auditor, "auditor", "审计管理员"),
    (Role::Manager, "manager", "项目管理"),
    (Role::Reporter, "reporter", "填报员"),
    (Role::Viewer, "viewer", "查看"),
];

impl Role {
    pub fn parse(s: &str) -> Result<Role, Invalid> {
        let t = s.trim();
        ROLES.iter().find(|(_, code, name)| *code == t || *name == t).map(|(r, _, _)| *r).ok_or_else(|| {
            let codes: Vec<String> = ROLES.iter().map(|(_, c, n)| format!("{c}（{n}）")).collect();
            Invalid::new("role", "角色", format!("取值须为：{}", codes.join("、")), format!("“{t}”不是已知角色"))
        })
    }
    pub fn code(self) -> &'static str {
        ROLES.iter().find(|(r, _, _)| *r == self).map(|(_, c, _)| *c).unwrap_or("viewer")
    }
    pub fn label(self) -> &'static str {
        ROLES.iter().find(|(r, _, _)| *r == self).map(|(_, _, n)| *n).unwrap_or("查看")
    }
    /// May this role read personal identifiers in clear?
    pub fn may_see_personal(self) -> bool {
        matches!(self, Role::Manager)
    }
    /// Does this role write business records?
    pub fn writes_records(self) -> bool {
        matches!(self, Role::Manager | Role::Reporter)
    }
    /// May this role write the program's configuration (code lists, indicator definitions,
    /// batches)? Only the front command (项目管理).
    pub fn manages_program(self) -> bool {
        matches!(self, Role::Manager)
    }
    /// Must this role sign in with a second factor (TOTP)? The three administrators and the
    /// front command (项目管理); the others may enrol.
    pub fn requires_second_factor(self) -> bool {
        matches!(self, Role::SysAdmin | Role::SecAdmin | Role::Auditor | Role::Manager)
    }
    /// Business roles need an organization to scope them.
    pub fn needs_org(self) -> bool {
        matches!(self, Role::Manager | Role::Reporter)
    }
}

/// The password policy: at least 8 characters, three of the four classes, not the user name.
pub fn check_password(name: &str, password: &str) -> Result<(), Invalid> {
    let bad = |m: &str| {
        Invalid::new("password", "密码", "至少 8 位，含大写、小写、数字、符号中的三类，且不得与用户名相同", m)
    };
    if password.chars().count() < 8 {
        return Err(bad("密码少于 8 位"));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|x| **x).count() < 3 {
        return Err(bad("密码须包含大写字母、小写字母、数字、符号中的至少三类"));
    }
    if password.to_lowercase().contains(&name.to_lowercase()) {
        return Err(bad("密码不得包含用户名"));
    }
    Ok(())
}

/// A user name: 3–32 characters of letters, digits, `_`, `.`, `-`, or CJK.
pub fn check_user_name(name: &str) -> Result<String, Invalid> {
    let t = name.trim();
    let ok_chars = t.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let n = t.chars().count();
    if !(3..=32).contains(&n) || !ok_chars {
        return Err(Invalid::new(
            "name",
            "用户名",
            "3–32 个字符，字母、数字、汉字或 _ . -",
            format!("用户名“{t}”不符合规则"),
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn password_policy() {
        assert!(check_password("zhang", "Short1!").is_err());
        assert!(check_password("zhang", "alllowercase").is_err());
        assert!(check_password("zhang", "Zhang2024!x").is_err());
        assert!(check_password("zhang", "Kizilsu-2024").is_ok());
        assert_eq!(Role::parse("项目管理").unwrap(), Role::Manager);
        assert_eq!(Role::parse("manager").unwrap().code(), "manager");
        assert!(Role::parse("root").is_err());
    }
}

/// An e-mail address the sender will accept: one `@` between a local part and a dotted domain,
/// at most 254 characters, and none of the characters that would end or split an address in a
/// mail header (spaces, controls, `<>,;:"()[]\\`).
pub fn valid_email(s: &str) -> bool {
    let bad = |c: char| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c);
    match s.split_once('@') {
        Some((local, domain)) => {
            s.len() <= 254
                && !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(bad)
        }
        None => false,
    }
}

#[cfg(test)]
mod email_tests {
    #[test]
    fn addresses_that_would_break_a_header_are_refused() {
        for ok in ["a@b.cn", "twn.reporter@example.cn", "x+y@mail.gov.cn"] {
            assert!(super::valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b.cn",
            "a@b",
            "a@b.cn,c@d.cn",
            "a<b@x.cn",
            "a b@x.cn",
            "a@@b.cn",
            "a@.cn",
            "a@b.cn.",
            "a@b.cn\r\nBcc: x@y.cn",
        ] {
            assert!(!super::valid_email(bad), "{bad}");
        }
    }
}
