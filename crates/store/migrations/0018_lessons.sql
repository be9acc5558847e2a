-- Two-site classes (issue 21), their first part: classrooms, class groups with their rosters,
-- each school's term calendar, and lessons scheduled weekly across the sites' calendars, each
-- occurrence kept with its Beijing day and its UTC times (what conflicts are judged by).

-- A school's classroom: main (主讲), receiving (接收) or both, with its equipment.
CREATE TABLE classrooms (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('main', 'receiving', 'both')),
    equipment TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- A class group (教学班) of a school, and its roster: each student by number and name.
CREATE TABLE class_groups (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    grade TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE TABLE class_group_members (
    group_id BIGINT NOT NULL REFERENCES class_groups(id),
    student_no TEXT NOT NULL,
    student_name TEXT NOT NULL,
    PRIMARY KEY (group_id, student_no)
);

-- A school's term (学期), its days off and its make-up days (调休补课, with the weekday they follow).
CREATE TABLE terms (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE TABLE term_days (
    term_id BIGINT NOT NULL REFERENCES terms(id),
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('off', 'makeup')),
    weekday SMALLINT,
    note TEXT,
    PRIMARY KEY (term_id, day)
);

-- A lesson: its kind (synchronous 专递课堂, research 教研, broadcast 直播讲座), course and subject,
-- main teacher, main classroom (and class group), the pairing it serves, its time (Beijing) and
-- length, its first and last day (once, or weekly).
CREATE TABLE lessons (
    id {{ID}},
    program_id BIGINT NOT NULL REFERENCES programs(id),
    kind TEXT NOT NULL CHECK (kind IN ('synchronous', 'research', 'broadcast')),
    course TEXT NOT NULL,
    subject TEXT NOT NULL,
    teacher_person_id BIGINT NOT NULL REFERENCES people(id),
    main_classroom_id BIGINT NOT NULL REFERENCES classrooms(id),
    main_group_id BIGINT REFERENCES class_groups(id),
    pairing_id BIGINT REFERENCES pairings(id),
    start_time TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    first_date TEXT NOT NULL,
    last_date TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL
);
-- Its receiving classrooms, each with the class group there.
CREATE TABLE lesson_sites (
    lesson_id BIGINT NOT NULL REFERENCES lessons(id),
    classroom_id BIGINT NOT NULL REFERENCES classrooms(id),
    group_id BIGINT REFERENCES class_groups(id),
    PRIMARY KEY (lesson_id, classroom_id)
);
-- Each time it is given.
CREATE TABLE lesson_occurrences (
    id {{ID}},
    lesson_id BIGINT NOT NULL REFERENCES lessons(id),
    day TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('scheduled', 'held', 'cancelled')),
    UNIQUE (lesson_id, day)
);
CREATE INDEX lesson_occurrences_time ON lesson_occurrences (starts_at, ends_at);
