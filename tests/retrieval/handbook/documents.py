"""The staff handbook of the handbook set: a fictional logistics company, Harlow & Finch Logistics.

Authored for this project (not taken from any employer): realistic in shape, not in fact. Each policy
is a title and a few sections with concrete figures, and the footer that every page of a real handbook
repeats. Handbook policies share most of their vocabulary (leave, pay, days, weeks, notice, your
manager, HR, request, eligible), and several are near neighbours (sick pay and a phased return;
maternity, paternity, shared parental and adoption leave; bereavement, compassionate and carer's leave;
mileage, business travel and company cars; overtime, night work and on-call), so that matching words
is easily misled. queries.py holds the employee messages that ask about them.
"""

from __future__ import annotations

FOOTER = ("## Questions about this policy\n\nSpeak to your manager first. HR Services can be reached on extension "
          "4400 or at hr@harlowfinch.example, Monday to Friday 9am to 5pm. This policy does not form part of "
          "your contract of employment and may be updated after consultation with the Employee Forum.")

# slug: (title, [(section, text), ...])
DOCS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "annual-leave": ("Annual Leave and Bank Holidays", [
        ("Entitlement", "Full-time employees receive 25 days of annual leave a year plus the eight bank holidays. Your entitlement rises by one day after three years' service and by a further day after five years, to a maximum of 27 days. Part-time employees receive a pro rata entitlement calculated in hours."),
        ("Booking leave", "Request leave through PeopleHub. Your manager should respond within five working days. Give notice of at least twice the length of the leave you want to take, for example two weeks' notice for one week off. Depot managers may restrict leave during the peak period from 15 November to 31 December."),
        ("Carrying leave over", "The leave year runs from 1 January to 31 December. You may carry up to five unused days into the next leave year, and they must be taken by 31 March. Any other unused days are lost, unless you could not take them because of sickness or family leave."),
        ("Working a bank holiday", "If you are rostered on a bank holiday you receive a day off in lieu, to be taken within three months, as well as your pay for the day."),
    ]),
    "sick-pay": ("Sick Leave and Company Sick Pay", [
        ("Reporting absence", "If you are unwell, phone your manager before your shift starts, or at the latest within one hour of your start time. Text messages are not accepted unless your manager has agreed to them. Keep in touch at least every three days while you are off."),
        ("Evidence", "For absences of up to seven calendar days, complete a self-certification form on PeopleHub when you return. From the eighth day you need a fit note from your GP or the hospital."),
        ("Company sick pay", "Once you have passed probation you receive full pay for the first four weeks of sickness absence in any rolling 12 months, then half pay for the next four weeks. After two years' service this rises to eight weeks at full pay and eight weeks at half pay. Statutory Sick Pay is included in these amounts, not paid on top."),
        ("Back at work", "After every absence your manager holds a short return to work conversation. Three or more separate absences in six months trigger an attendance review with HR."),
    ]),
    "phased-return": ("Phased Return After Illness", [
        ("When it applies", "After an absence of four weeks or more, or after a serious operation or treatment, you may come back on reduced hours or lighter duties for a limited period. A fit note saying you may be fit for work, with your doctor's recommendations, is the usual starting point."),
        ("Your return plan", "Before your first day back, your manager and HR agree a written plan with you, normally over four to six weeks, with hours increasing step by step, for example half your usual hours in week one rising to full hours by week five. Occupational Health may be asked to advise."),
        ("Pay during the plan", "You are paid your normal rate for the hours you work. Any company sick pay you have left tops up the hours you are not yet working; once it is used up, those hours are unpaid. You may use annual leave to make up the difference."),
        ("If more time is needed", "If the plan needs to last longer than 12 weeks, HR will review with you whether a permanent change to your hours or workplace adjustments would be more suitable."),
    ]),
    "maternity-leave": ("Maternity Leave and Pay", [
        ("Entitlement", "Every pregnant employee is entitled to up to 52 weeks of maternity leave, whatever her length of service. Leave can start at any time from the 11th week before the expected week of childbirth."),
        ("Telling us", "Tell your manager or HR by the 15th week before the baby is due, giving the date you want your leave to start and a copy of your MATB1 certificate from your midwife or GP."),
        ("Company maternity pay", "If you have 26 weeks' service by the 15th week before the due date, you receive 16 weeks at full pay followed by 23 weeks of Statutory Maternity Pay; the last 13 weeks are unpaid. If you do not come back for at least three months afterwards, the company payment above the statutory rate must be repaid."),
        ("Appointments and keeping in touch", "You may take paid time off for antenatal appointments. During your leave you may work up to ten keeping in touch days, paid at your normal daily rate, without ending your leave."),
    ]),
    "paternity-leave": ("Paternity Leave and Pay", [
        ("Entitlement", "If you are the father of the baby, or the partner of the birth mother or of the main adopter, you may take up to two weeks of paternity leave. It can be taken as one block or as two separate weeks, at any time in the 52 weeks after the birth or placement."),
        ("Pay", "Employees with 26 weeks' service receive both weeks at full pay. Others receive Statutory Paternity Pay if they are eligible for it."),
        ("Notice", "Tell your manager by the 15th week before the expected week of childbirth, and give 28 days' notice of each period of leave you want to take."),
        ("Antenatal appointments", "Partners may take time off to attend up to two antenatal appointments of up to six and a half hours each. This time is paid once you have passed your probation period."),
    ]),
    "shared-parental-leave": ("Shared Parental Leave", [
        ("How it works", "Shared parental leave lets parents split up to 50 weeks of leave and 37 weeks of pay between them in the first year after a birth or adoption. The mother or main adopter must end their maternity or adoption leave early to create the shared entitlement."),
        ("Booking blocks of leave", "You can book up to three separate blocks of leave, each of at least one week, giving eight weeks' notice of each. Parents may be off at the same time or take turns. Your manager may refuse a request for a broken pattern of leave, but not a single continuous block."),
        ("Pay", "If you have 26 weeks' service, Harlow & Finch pays the first six weeks of your shared parental leave at full pay. After that you receive statutory pay for any of the 37 paid weeks that remain."),
        ("Working during leave", "Each parent may work up to 20 SPLIT days during shared parental leave, paid at the normal daily rate, in addition to any keeping in touch days already used."),
    ]),
    "adoption-leave": ("Adoption Leave", [
        ("Entitlement", "Employees adopting a child through a UK adoption agency, or becoming parents through surrogacy with a parental order, are entitled to up to 52 weeks of adoption leave from their first day of employment. Only one partner may take adoption leave; the other may take paternity leave."),
        ("Matching and notice", "Tell your manager within seven days of being told that you have been matched with a child. Leave can start on the day of placement or up to 14 days before the expected placement date."),
        ("Pay", "If you have 26 weeks' service by the week you are matched, you receive 16 weeks at full pay followed by 23 weeks of Statutory Adoption Pay."),
        ("Before the placement", "You may take paid time off for up to five appointments before the placement, such as introductory visits and meetings with social workers. For an adoption from overseas, notify HR as soon as you receive the official notification."),
    ]),
    "carers-leave": ("Carer's Leave", [
        ("Who it is for", "If a dependant has a long-term care need because of illness, injury, disability or old age, you may take carer's leave to arrange or provide care. A dependant can be a spouse, partner, child or parent, or anyone who relies on you for care."),
        ("How much leave", "You may take up to five days of carer's leave in any rolling 12 months, in half days or whole days. Harlow & Finch pays the first three days at full pay; the other two are unpaid."),
        ("Requesting leave", "Give notice of twice the length of the leave you request, or three days, whichever is longer. Your manager may postpone the leave but may not refuse it, and must agree a new date within one month."),
        ("Longer arrangements", "If care will be needed for several weeks, talk to your manager about flexible working, unpaid leave or annual leave as well."),
    ]),
    "compassionate-leave": ("Compassionate Leave", [
        ("Purpose", "Compassionate leave covers the serious illness of, or an emergency involving, someone close to you, when you need to be with them or to deal with the immediate situation. If someone has died, see the bereavement leave policy."),
        ("Emergencies involving dependants", "You may take reasonable unpaid time off to deal with an unexpected emergency involving a dependant, for example when a childminder does not turn up, a child is sent home from school, or a relative has an accident. This is usually one or two days."),
        ("Paid compassionate leave", "Your manager may grant up to five days of paid compassionate leave a year, for example when a close relative is critically ill or receiving end of life care. Further time can be agreed with HR as unpaid leave or annual leave."),
        ("How to ask", "Phone your manager as early as you can; no written notice is needed in an emergency. Record the absence on PeopleHub when you are back."),
    ]),
    "bereavement-leave": ("Bereavement Leave", [
        ("Close family", "When a partner, child, parent or sibling dies, you may take up to five days of paid bereavement leave. After the death of a child under 18, or a stillbirth after 24 weeks of pregnancy, parents are entitled to two weeks of paid parental bereavement leave, to be taken within 56 weeks."),
        ("Other relatives and friends", "For grandparents, in-laws, aunts, uncles and close friends you may take up to two days of paid leave, including the day of the funeral."),
        ("Funerals abroad", "If the funeral or the arrangements are overseas, up to five further days of unpaid leave or annual leave may be agreed with your manager."),
        ("Telling us", "Tell your manager as soon as you can. No evidence is normally required. The Employee Assistance Programme offers bereavement counselling."),
    ]),
    "sabbatical": ("Unpaid Sabbatical", [
        ("Eligibility", "Employees with five years' continuous service may request an unpaid sabbatical of between one and six months, once in any five-year period."),
        ("Applying", "Send your request to your manager and HR at least three months before the start date. Requests are considered against the needs of the business, and a refusal must be explained in writing."),
        ("During the sabbatical", "Your employment continues and your job is held open, but salary, pension contributions and the accrual of annual leave stop. Private medical insurance can continue if you pay the premium."),
        ("Coming back", "Confirm your return date four weeks before the end of the sabbatical. If you decide not to return, you must give the notice set out in your contract."),
    ]),
    "flexible-working": ("Flexible Working", [
        ("Right to request", "Every employee may request a change to their hours, their times of work or their place of work from their first day, up to two requests in any 12 months. Examples include compressed hours, a nine-day fortnight, term-time working, a job share or a later start time."),
        ("How to apply", "Complete the request form on PeopleHub. Your manager must meet you and give a decision, including any appeal, within two months."),
        ("Decisions and trials", "A request can only be refused for one of the business reasons set out in law, explained in writing. Many changes are agreed for a trial period of three months first."),
        ("Flexitime in offices", "Office staff on flexitime work their hours between 7am and 7pm, with core hours of 10am to 3pm, and may build up and take two flexi days a month."),
    ]),
    "remote-equipment": ("Home Working Equipment", [
        ("Who qualifies", "Office-based staff with an agreed hybrid or home working arrangement of at least two days a week."),
        ("What we provide", "IT provides a laptop, a monitor, a keyboard and mouse and a headset. You may also claim up to 250 pounds, once, towards a desk, chair or footrest, with receipts, through the expenses system."),
        ("Running costs", "Employees whose contract names their home as their place of work receive 26 pounds a month towards heating and electricity, paid through payroll."),
        ("Health and safety", "Complete the display screen self-assessment within your first month of working from home. Equipment remains company property and must be returned when you leave."),
    ]),
    "travel-expenses": ("Business Travel Expenses", [
        ("Booking travel", "Book trains, flights and hotels through the company travel desk, at least 14 days in advance where possible. Rail travel is standard class; flights are economy for journeys under six hours."),
        ("Hotels and meals", "The hotel limit is 120 pounds a night outside London and 180 pounds in London, including breakfast. You may spend up to 35 pounds a day on meals when you stay overnight, or 10 pounds on a day trip of more than ten hours."),
        ("Claiming", "Submit claims with receipts on PeopleHub within 60 days. Claims are paid in the next monthly payroll after your manager approves them."),
        ("What we do not pay", "Alcohol, minibar items, personal entertainment, upgrades, and fines for parking or speeding are not reimbursed."),
    ]),
    "mileage": ("Mileage Allowance", [
        ("Using your own vehicle", "If you use your own car for business journeys you can claim 45p a mile for the first 10,000 business miles in the tax year and 25p a mile after that, plus 5p a mile for each colleague you carry. Motorcycles are paid at 24p and bicycles at 20p a mile."),
        ("What counts as business travel", "Your normal commute between home and your usual workplace cannot be claimed. If you travel straight from home to another site, claim the distance less your normal commute."),
        ("Insurance", "Your motor insurance must cover business use. The company does not pay for insurance, repairs or breakdown cover on personal vehicles."),
        ("Claiming", "Record each journey on PeopleHub with the date, the postcodes and the reason for the journey, within 60 days."),
    ]),
    "company-car": ("Company Cars", [
        ("Eligibility", "Company cars are provided for regional managers, sales managers and roles that drive more than 12,000 business miles a year."),
        ("Choosing a car", "Choose from the approved list, up to a list price of 35,000 pounds. Electric and hybrid models are encouraged. Cars are replaced every four years or at 100,000 miles. Instead of a car you may take a cash allowance of 450 pounds a month."),
        ("Private use and tax", "Private use by you and your partner is allowed, and benefit in kind tax applies. The fuel card is for business fuel only; private fuel must be repaid at the HMRC advisory rates."),
        ("Accidents and fines", "Report any accident to the fleet team within 24 hours. The driver is responsible for parking and speeding fines."),
    ]),
    "relocation": ("Relocation Support", [
        ("Eligibility", "Relocation support may be offered when the company asks you to move to a site more than 40 miles from your current home, or when a new employee has to move to take up a role."),
        ("What is covered", "We cover up to 8,000 pounds of costs: removals, legal and estate agent fees, temporary accommodation for up to three months, and two house-hunting trips. Up to 8,000 pounds of approved costs is free of tax."),
        ("Paying it back", "If you resign within two years of the move, you must repay all of the support in the first year and half of it in the second year."),
        ("Moving at your own request", "If you ask to transfer to another site for personal reasons, relocation costs are not normally paid."),
    ]),
    "pension": ("Pension Contributions", [
        ("Joining", "All eligible employees are enrolled into the Harlow & Finch Group Pension Plan in their first month. You may opt out within one month and receive a full refund; anyone who opts out is re-enrolled every three years."),
        ("Contributions", "You contribute 5% of your basic salary and the company contributes 6%. If you raise your contribution, the company matches it up to a maximum of 8%."),
        ("During leave", "Company contributions continue during paid family leave and company sick pay, based on your normal salary. They stop during unpaid leave."),
        ("Life cover and retirement", "Members are covered by a lump sum of four times basic salary if they die in service; keep your nomination of beneficiaries up to date. Pension savings can be taken from age 55, rising to 57 in 2028."),
    ]),
    "salary-sacrifice": ("Salary Sacrifice Schemes", [
        ("How it works", "You give up part of your gross salary in exchange for a benefit, which saves income tax and National Insurance on the amount sacrificed."),
        ("Schemes available", "Pension contributions, the cycle to work scheme, the electric car scheme and the technology scheme. Childcare vouchers are closed to new members."),
        ("Limits and timing", "A sacrifice cannot take your pay below the National Minimum Wage. You can join or change schemes in the January window, or after a life event such as marriage, a birth or a change of hours."),
        ("Effect on other pay", "A lower salary may reduce statutory payments such as maternity pay and may affect mortgage or loan applications. A reference salary is used for overtime, pension and life cover."),
    ]),
    "cycle-scheme": ("Cycle to Work Scheme", [
        ("What you can get", "A bike and safety equipment worth up to 3,000 pounds, paid for through salary sacrifice over 12 months, which saves tax and National Insurance. Electric bikes are included."),
        ("How to apply", "Applications open twice a year, in March and September, on the benefits portal. You receive a certificate to spend at a participating shop."),
        ("End of the hire", "After 12 months you can keep the bike by paying a fair market value, or extend the hire for a further three years at no cost."),
        ("Leaving and facilities", "If you leave before the end of the hire, the remaining deductions are taken from your final pay. Secure shelters and showers are available at Northampton and Leicester."),
    ]),
    "overtime": ("Overtime Pay", [
        ("Who is eligible", "Hourly-paid employees in warehouse, transport and customer service roles. Salaried staff at grade 6 and above are not paid overtime but may take time off in lieu."),
        ("Rates", "Hours beyond your contract are paid at time and a quarter on weekdays, time and a half on Saturdays, and double time on Sundays and bank holidays."),
        ("Approval", "Extra hours must be approved in advance by your shift manager and recorded on the clocking system. They are paid in the following month."),
        ("Limits", "Working time averages no more than 48 hours a week over 17 weeks unless you have signed an opt-out, and you must have 11 hours' rest between shifts. Time off in lieu is given hour for hour and must be used within three months."),
    ]),
    "night-shift-allowance": ("Night Shift Allowance", [
        ("Qualifying hours", "Any shift with at least three hours between 11pm and 6am counts as a night shift."),
        ("The allowance", "You receive 15% on top of your basic hourly rate for every hour of a night shift, or 20% if you work permanent nights. The allowance is included in holiday pay when you work nights regularly."),
        ("Health assessments", "Night workers are offered a free health assessment before starting nights and every year after. If a doctor advises that night work is affecting your health, we will look for suitable day work."),
        ("Changing pattern", "If you move from nights to days at your own request, the allowance stops from the date of the move. If the company moves you, it is paid for a further four weeks."),
    ]),
    "on-call-pay": ("On-Call Pay", [
        ("Standby payments", "Employees on an on-call rota in IT, fleet maintenance or transport planning receive 30 pounds for each weekday night and 60 pounds for each weekend day on call, or 150 pounds for a full week."),
        ("Call-outs", "If you are called out, the time you spend working, including travel, is paid at time and a half, with a minimum of one hour. Problems fixed remotely are paid for a minimum of 30 minutes."),
        ("Rota rules", "Nobody should be on call for more than one week in four. While on call you must be reachable within 15 minutes, able to reach site within an hour, and must not drink alcohol."),
        ("Rest", "If you work after midnight on a call-out, you may start later the next day without loss of pay."),
    ]),
    "grievance": ("Grievance Procedure", [
        ("Informal resolution", "Most problems at work are best raised informally with your manager first. If the problem is your manager, speak to their manager or to HR."),
        ("Formal grievance", "If that does not resolve it, write to HR within three months of the problem, explaining what happened and what outcome you want. A meeting will be held within ten working days, and you may be accompanied by a colleague or a trade union representative."),
        ("Outcome and appeal", "You receive the outcome in writing within five working days of the meeting. You may appeal within ten working days to a more senior manager who has not been involved."),
        ("Bullying and harassment", "Complaints of bullying, harassment or discrimination are treated seriously and confidentially, and mediation may be offered where both sides agree."),
    ]),
    "disciplinary": ("Disciplinary Procedure", [
        ("Investigation", "Before any disciplinary action a manager who is not involved investigates the facts. You may be suspended on full pay while this happens; suspension is not a punishment."),
        ("The hearing", "You receive at least five working days' written notice of a hearing, with copies of the evidence. You may be accompanied by a colleague or a trade union representative."),
        ("Outcomes", "The possible outcomes are a first written warning, which stays live for six months, a final written warning, which stays live for 12 months, or dismissal. Gross misconduct, such as theft, violence, being under the influence of alcohol or drugs at work or a serious breach of safety rules, can lead to dismissal without notice."),
        ("Appeal", "You may appeal in writing within five working days of receiving the outcome."),
    ]),
    "whistleblowing": ("Whistleblowing", [
        ("What to report", "Report concerns about wrongdoing in the public interest: fraud, bribery, danger to health and safety, damage to the environment, breaking the law, or covering up any of these. Complaints about your own treatment are handled under the grievance procedure instead."),
        ("How to raise a concern", "Speak to your manager or, if that is not appropriate, to the Company Secretary. You can also call the independent Speak Up line on 0800 915 4420, 24 hours a day, and you may stay anonymous if you wish."),
        ("Your protection", "You will not be dismissed or treated less favourably for raising a genuine concern, even if it turns out to be mistaken."),
        ("Outside the company", "You may also report to a prescribed body such as the Health and Safety Executive, the Driver and Vehicle Standards Agency or HMRC."),
    ]),
    "staff-data-protection": ("Your Personal Data", [
        ("What we hold", "We hold your contact and bank details, pay and pension records, sickness records, right to work checks, CCTV images from our sites and telematics data from company vehicles."),
        ("Seeing your data", "You may ask for a copy of the personal data we hold about you by emailing the data protection officer. We reply within one month and there is no charge."),
        ("How long we keep it", "Personnel files are kept for six years after you leave, recruitment records of unsuccessful candidates for six months, and vehicle telematics for 90 days."),
        ("Corrections and complaints", "Update your details on PeopleHub, and ask HR to correct anything inaccurate. If you are unhappy with how we handle your data you may complain to the Information Commissioner's Office."),
    ]),
    "probation": ("Probation Period", [
        ("Length", "New employees serve a probation period of six months. Your manager may extend it once, by up to three months, explaining why in writing."),
        ("Reviews", "Your manager meets you at one, three and five months to review your progress, and agrees any support or training you need."),
        ("Terms during probation", "During probation either side may end employment with one week's notice, only Statutory Sick Pay is paid, and you may not apply for internal vacancies."),
        ("Confirmation", "When you pass, you receive a confirmation letter, and the notice period in your contract applies from then on."),
    ]),
    "notice-periods": ("Notice Periods", [
        ("Resigning", "Resign in writing to your manager. The notice you must give depends on your grade: one month for grades 1 to 3, two months for grades 4 to 6, and three months for grade 7 and above."),
        ("Notice from the company", "The company gives the notice in your contract, or the statutory minimum of one week for each complete year of service up to 12 weeks, whichever is longer."),
        ("Garden leave and pay in lieu", "The company may ask you to stay at home on full pay during your notice, or may pay you in lieu of notice."),
        ("Holiday and final pay", "Annual leave you have earned but not taken is paid in your final pay, or you may be asked to take it during your notice. Leave taken beyond what you have earned is deducted. Final pay is made on the normal payday after you leave, with your P45."),
    ]),
    "redundancy": ("Redundancy", [
        ("Consultation", "When roles are at risk, we consult each affected employee individually for at least two weeks, and collectively for 30 days where 20 or more roles are affected, or 45 days for 100 or more."),
        ("Selection", "Fair criteria are used, such as skills, qualifications, attendance and disciplinary record. Absence related to disability, pregnancy or family leave is not counted."),
        ("Redundancy pay", "Employees with two years' service receive one and a half times the statutory payment, and the statutory cap on a week's pay does not apply."),
        ("Alternative work", "We offer suitable alternative roles where they exist, with a four-week trial. You may take up to two days of paid time off to look for work or attend training."),
    ]),
    "training-budget": ("Training and Development Budget", [
        ("Your yearly budget", "Every employee has 600 pounds a year for job-related courses, conferences and exam fees, and three days of study leave."),
        ("Qualifications", "Longer qualifications, such as a degree, an apprenticeship or a CILT or CIPS diploma, may be funded up to 3,000 pounds a year with the approval of your director, with five days of exam and study leave a year."),
        ("Paying it back", "If you leave within 24 months of finishing a funded qualification, you repay all of the cost in the first 12 months and half of it in months 13 to 24."),
        ("Applying", "Discuss your plans at your annual review, and submit the request on PeopleHub at least four weeks before the course starts."),
    ]),
    "professional-subscriptions": ("Professional Memberships and Subscriptions", [
        ("What we pay", "The company pays for one membership of a professional body relevant to your role, such as CILT, CIPD, ACCA or IOSH, including annual renewals. A second membership needs your manager's agreement."),
        ("How to claim", "Ask the body to invoice Finance directly, or pay it yourself and claim it through expenses with the receipt."),
        ("Tax relief", "If you pay a fee yourself to a body on the HMRC approved list, you may be able to claim tax relief on it."),
        ("Leaving", "No repayment is needed if you leave after the company has paid a renewal."),
    ]),
    "health-insurance": ("Private Medical Insurance", [
        ("Who is covered", "Employees at grade 5 and above, and all employees after five years' service. You can add your partner and children at your own cost through payroll."),
        ("What it covers", "Specialist consultations, diagnostic tests and hospital treatment for acute conditions. It does not cover conditions you had in the five years before joining, chronic conditions, pregnancy or cosmetic treatment."),
        ("Making a claim", "Ask your GP for a referral, then call the insurer's claims line for authorisation before any treatment. There is an excess of 100 pounds a year."),
        ("Tax and the cash plan", "Cover is a taxable benefit shown on your P11D. Every employee is also in the healthcare cash plan, which pays up to 250 pounds a year towards dental, optical and physiotherapy costs."),
    ]),
    "employee-assistance": ("Employee Assistance Programme", [
        ("What it is", "A free and confidential support service, open 24 hours a day, run by an independent provider, for employees and the members of their household."),
        ("Counselling", "Up to six sessions of short-term counselling for each issue, by phone, by video or in person."),
        ("Practical advice", "Legal information, debt and money advice, help with housing and consumer problems, and help finding childcare or care for older relatives."),
        ("Confidentiality", "The company receives only anonymous statistics about use of the service. Call 0800 030 5182 or use the app; you do not need to tell your manager or HR."),
    ]),
    "jury-service": ("Jury Service and Public Duties", [
        ("Jury service", "Tell your manager as soon as you receive your summons. The company continues your normal pay; claim the court's loss of earnings allowance and pass it to payroll. In the peak period we may ask you to request a deferral, once."),
        ("Witnesses", "If you are summoned to appear as a witness, the time is paid leave."),
        ("Public duties", "Magistrates, local councillors, school governors and members of the reserve forces may take up to ten days of paid leave a year for their duties, and more unpaid by agreement."),
        ("Evidence", "Give HR a copy of the summons or letter of appointment so that the leave can be recorded."),
    ]),
    "volunteering": ("Volunteering Days", [
        ("Your allowance", "Every employee may take two paid volunteering days a year to help a registered charity, a community group or a school."),
        ("What counts", "Team challenges, mentoring, food banks and company-organised community days all count."),
        ("Booking", "Request volunteering days on PeopleHub at least two weeks ahead, as you would annual leave. Your manager may decline dates in the peak period."),
        ("Giving", "Payroll giving lets you donate before tax, and the company matches money you raise for charity, up to 500 pounds per employee per year."),
    ]),
    "religious-observance": ("Religious Observance", [
        ("Festivals and holy days", "You may request annual leave or unpaid leave for the festivals and holy days of your faith, and managers should agree wherever operations allow. You may swap up to two bank holidays each year for days of religious significance to you."),
        ("Prayer and quiet rooms", "Every site has a multi-faith quiet room. Breaks for prayer can be arranged within your shift pattern."),
        ("Fasting", "During a period of fasting you may ask to move your breaks or shift times, and to avoid heavy physical tasks at the end of a shift."),
        ("Dress", "Uniform can be varied for religious dress, such as headscarves or turbans, where it remains compatible with safety requirements."),
    ]),
    "menopause-support": ("Menopause Support", [
        ("Adjustments", "Symptoms such as hot flushes, poor sleep and difficulty concentrating can be eased by simple changes: a desk fan, a seat near a window, a lighter uniform, flexible start times and easy access to toilets and breaks."),
        ("Absence", "Sickness absence related to the menopause is recorded separately and does not count towards the triggers for an attendance review."),
        ("Someone to talk to", "You can speak to your manager, to HR, or to one of the trained menopause champions at each site. Occupational Health can advise on adjustments."),
        ("Prescriptions", "The company reimburses the cost of an HRT prescription prepayment certificate."),
    ]),
    "workplace-adjustments": ("Workplace Adjustments", [
        ("Purpose", "We make reasonable adjustments for disabled employees and those with long-term health conditions, including mental health conditions and neurodivergence."),
        ("Examples", "A specialist chair, screen reading or dictation software, changes to hours or duties, a parking space near the entrance, adjusted targets or a quieter place to work."),
        ("How to request", "Talk to your manager and complete an adjustment passport. Occupational Health will assess your needs within four weeks, and the government's Access to Work scheme may help with costs."),
        ("Cost and review", "Adjustments are paid from a central budget, not your team's budget, and are reviewed with you every 12 months."),
    ]),
    "secondments": ("Secondments", [
        ("What a secondment is", "A temporary move to another team, another site, a customer or a partner charity, for between three and twelve months, after which you return to your own role."),
        ("Eligibility", "You must have passed probation, have been in your role for 12 months and have no live warning."),
        ("Terms", "Your salary stays the same; if the role is at a higher grade you receive a temporary allowance of 10%. Travel beyond your normal commute is paid under the expenses policy."),
        ("Applying", "Opportunities are posted on the intranet. You need the agreement of your home manager, and the terms are set out in a written agreement."),
    ]),
    "internal-transfers": ("Internal Vacancies and Transfers", [
        ("Vacancies", "Vacancies are advertised internally for seven days before they are advertised outside. Apply through the careers portal. You do not need your manager's permission to apply, but you must tell them if you are shortlisted."),
        ("Eligibility", "You must have passed probation, have been in your current role for 12 months, and have no final written warning."),
        ("Moving", "The release date between departments is agreed by the two managers and is usually four weeks. Your continuous service is kept, and a four-week trial gives you the right to return to your old role."),
        ("Another site", "If you ask to move to another site for personal reasons, relocation costs are not normally paid."),
    ]),
    "referral-bonus": ("Employee Referral Bonus", [
        ("How it works", "Refer a friend for a vacancy by sending them your referral link from the careers portal before they apply."),
        ("The bonus", "The bonus is 500 pounds for hourly-paid roles, 1,000 pounds for salaried roles at grade 5 and above, and 1,500 pounds for HGV drivers."),
        ("Payment", "It is paid in two halves, after the new starter's third month and after they pass probation. You must both still be employed, and not under notice, at each payment."),
        ("Exclusions", "Managers recruiting into their own team, the HR team, candidates introduced by an agency and former employees who left within the last 12 months are excluded."),
    ]),
}
