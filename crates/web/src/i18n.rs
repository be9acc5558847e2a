//! Chinese first, English on request. Each user's choice is remembered with the user; before
//! login the `cp_lang` cookie carries it. Texts sit next to their use as `(zh, en)` pairs.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Lang {
        if s.trim().eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    /// The text in this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// English names of the built-in codes (code lists, types, brands); a code not listed here (a
/// user-defined type, say) shows its Chinese name in either language.
const CODES_EN: &[(&str, &str)] = &[
    // project statuses and sectors
    ("approved", "Approved"),
    ("started", "Started"),
    ("completed", "Completed"),
    ("accepted", "Accepted"),
    ("education", "Education"),
    ("medical", "Health"),
    ("industry", "Industry"),
    ("employment", "Employment"),
    ("infrastructure", "Infrastructure"),
    ("livelihood", "Livelihood"),
    ("culture", "Culture and exchange"),
    ("capacity", "Cadre and talent training"),
    ("party", "Party and government"),
    ("investment", "Investment promotion"),
    // funding sources
    ("province", "Provincial aid funds"),
    ("city", "City and county aid funds"),
    ("social", "Social assistance funds"),
    ("local", "Local matching funds"),
    // people
    ("aid", "Aid personnel"),
    ("expert", "Expert"),
    ("cadre", "Cadre"),
    ("professional", "Professional"),
    ("flexible", "Short-term (柔性)"),
    ("男", "Male"),
    ("女", "Female"),
    // organizations
    ("donor", "Donor side"),
    ("recipient", "Recipient side"),
    ("government", "Government body"),
    ("command", "Front command"),
    ("hospital", "Hospital"),
    ("department", "Department"),
    ("school", "School"),
    ("university", "University"),
    ("enterprise", "Enterprise"),
    ("centre", "Service centre"),
    ("other", "Other"),
    // activities, procedures, pairings
    ("free_clinic", "Free clinic"),
    ("lecture", "Lecture"),
    ("volunteer", "Volunteer service"),
    ("training", "Training"),
    ("camp", "Camp"),
    ("open_day", "Open day"),
    ("remote_class", "Remote class"),
    ("remote_consultation", "Remote consultation"),
    ("campaign", "Campaign"),
    ("exchange_visit", "Exchange visit"),
    ("cataract", "Cataract surgery"),
    ("cleft_lip", "Cleft lip repair"),
    ("early_cancer_screening", "Early cancer screening"),
    ("consultation", "Consultation"),
    ("school_school", "School to school (百校万生)"),
    ("university_campus", "University to campus"),
    ("hospital_department", "Hospital to department (院包科)"),
    ("mentor_teacher", "Teacher mentoring (青蓝工程)"),
    ("mentor_doctor", "Doctor mentoring (传帮带)"),
    ("org", "Between organizations"),
    ("person", "Between people"),
    // achievements, donations, investment, indicators
    ("new_unit", "New unit"),
    ("upgraded_unit", "Upgraded unit"),
    ("certification", "Certification"),
    ("key_specialty", "Key specialty"),
    ("research_project", "Research project"),
    ("paper", "Paper"),
    ("new_technique", "New technique"),
    ("first_operation", "First operation"),
    ("award", "Award"),
    ("studio", "Master's studio"),
    ("in_kind", "In kind"),
    ("cash", "Cash"),
    ("promotion", "Promotion event"),
    ("expo", "Expo / order fair"),
    ("visit", "Visit"),
    ("sum", "Sum"),
    ("avg", "Average"),
    ("last", "Latest"),
    ("min", "Minimum"),
    ("max", "Maximum"),
    ("ratio", "Ratio of two"),
];

impl Lang {
    /// The name of a code in this language: the Chinese name, or its English one.
    pub fn code_name<'a>(self, code: &str, zh: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => CODES_EN.iter().find(|(c, _)| *c == code).map(|(_, e)| *e).unwrap_or(zh),
        }
    }
}
