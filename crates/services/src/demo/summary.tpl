# 江西省对口支援克州工作综述
> （{{period}}）
@ 江西省对口支援新疆工作前方指挥部
## 一、总体情况
江西省第十一批援疆干部人才自2023年4月入疆以来，紧扣受援地需求，从政治建设、项目带动、产业协作、教育医疗及民族团结等多维度推进援疆工作。江西先后选派{{personnel.batches|cn}}批{{personnel.total}}名江西援疆干部人才，{{projects.total}}个援疆项目落地生根，援疆资金计划总额{{funds.planned|wan}}万元，已拨付{{funds.disbursed|wan}}万元。
[table funds_by_year]
[chart funds_by_year]
[table funds_by_batch]
[table projects_by_sector]
[chart projects_by_sector]
[table funds_by_place]
## 二、教育援疆
{{edu.microlecture.students|approx:1000}}名学生通过“红杜鹃微讲堂”连线江西革命旧址，江西组织{{edu.school_pairing.jiangxi_schools}}所省内学校开展“百校万生”结对活动，{{edu.vr_poetry.participants}}名师生在“重走长征路”VR课程和“谷雨诗会”互动活动中接受红色洗礼和传统文化教育。
江西援疆教师通过“青蓝工程”与当地{{edu.qinglan.pairs}}名青年教师结对，开展“红杜鹃”教育志愿服务活动{{edu.volunteer.events|approx:10}}场，惠及师生{{edu.volunteer.beneficiaries|approx:10000}}人次。
2023年以来，克州江西实验中学、克州三中“红杜鹃”江西班本科上线率始终保持在{{edu.admission_rate.kzjx}}%和{{edu.admission_rate.kz3}}%以上。
由{{edu.expert_team.academicians}}名院士领衔的专家团推动{{edu.university_pairing}}所江西高校对口支援新疆天山职业技术大学（克州校区）；2024年，{{edu.university_teachers}}名本科高校教师进驻克州校区，江西高校在疆新增招生计划{{edu.enrollment_quota.added}}名，增幅{{edu.enrollment_quota.growth}}%。{{edu.aid_teachers|approx:100}}名江西援疆教师在阿克陶县开展“组团式”教育援疆工作。
## 三、医疗援疆
阿克陶县人民医院受捐价值{{med.equipment_donated|approx:100}}万元的医疗设施设备。江西省内{{med.hospitals}}家三甲医院对口帮扶阿克陶县人民医院{{med.departments}}个学科，{{med.flexible_doctors}}名柔性援疆医生以“院包科”形式驻点帮扶，新开设科室部门{{med.new_units}}个，升级改造科室{{med.upgraded_units}}个。
2024年，阿克陶县人民医院医疗总收入{{med.revenue}}亿元，同比增长{{med.revenue.growth|1}}%；转院人次同比变化{{med.referrals.change}}%。援疆医生与当地医护人员结对{{med.mentor_pairs}}对，本地医生申报克州科技局课题{{med.local.research_projects}}项、发表论文{{med.local.papers}}篇，开展新技术新项目{{med.local.new_techniques}}项，其中三级以上手术{{med.local.new_techniques.grade3}}项。
“江西红医生”大讲堂及义诊{{med.outreach.events|approx:100}}场，受益群众{{med.outreach.beneficiaries|approx:10000}}人次；“光明行动”完成白内障手术{{med.cataract_surgeries}}例，“微笑陶陶”完成唇腭裂修复术{{med.cleft_lip_repairs}}例，消化道早癌筛查{{med.early_cancer_screenings}}例次。
2024年，赣陶远程影像中心受理阿克陶县人民医院远程影像会诊{{med.imaging.consultations}}例，由院包科的江西医院专家阅片：报告周转时间中位数{{med.imaging.tat_median}}分钟、第90百分位{{med.imaging.tat_p90}}分钟，{{med.imaging.within_target|1}}%在报告时限内签发；危急值{{med.imaging.critical}}例，{{med.imaging.critical_in_time|1}}%在30分钟内通知到临床；会诊后在本院治疗、免于转院{{med.imaging.transfers_avoided}}例。
## 四、产业、就业与招商引资
昆仑佳苑建成高标准日光温室大棚{{ind.greenhouses|approx:1000}}座，芦笋种植加工基地{{ind.asparagus.mu}}亩，唐锦袜企带动就业{{ind.sock_factory.jobs}}人。
江西建成“就业之家”{{emp.centres}}家，提供岗位{{emp.jobs_offered}}个，参加技术培训{{emp.training_attendance}}人次。
2023年以来举办重大招商活动{{inv.events}}场，引进签约企业{{inv.enterprises_signed}}家、签约项目{{inv.projects_signed}}个，投资额{{inv.amount}}亿元；家具展销会促成订单{{inv.furniture_expo.orders|2}}亿元，结对关系以外落地项目投资{{inv.outside_area.xinda|2}}亿元。
## 五、交往交流交融
组织克州{{exchange.football_camp.children}}名少年儿童到江西开展“赣克两地一家亲·民族团结过大年”足球冬令营；在援疆前指驻地开展“开放日”活动，先后邀请{{exchange.open_days.batches}}批次{{exchange.open_days.visitors|approx:100}}名各族干部群众到驻地参观、交流。全年各类活动{{activities.total}}场，受益{{activities.beneficiaries}}人次。
## 六、指标分析
[table indicators]
## 附表：分领域主要指标
[table figures_by_line]
