"""Long employee messages to HR about the Harlow & Finch handbook, each with the policies that answer it.

Each message is what an employee writes to HR: a greeting, some personal context, two to four distinct
needs, asides, a signature and sometimes an automatic reply or an e-mail disclaimer. Every need is
labelled with the one policy that answers it. The needs describe a situation in the employee's words,
never the policy's title or the distinctive words of its headings ("a little boy is coming to live
with us for good", not "adoption leave"), while the asides and boilerplate use the vocabulary of other
policies, so that word matching is easily misled. Authored for this project as fixed text (no generator, no
randomness) before any retrieval mode was measured on them, and not tuned afterwards.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.retrieval.handbook.documents import DOCS, FOOTER

DISCLAIMER = (
    "This email and any attachments are confidential and intended solely for the named recipient. If you "
    "have received it in error, please tell the sender and delete it. Harlow & Finch Logistics Ltd, registered "
    "in England and Wales, company number 04417723. Registered office: Unit 4, Brackmills Industrial Estate, "
    "Northampton. Please consider the environment before printing this email."
)
HR_AUTOREPLY = (
    "> From: HR Services <hr@harlowfinch.example>\n> Subject: Automatic reply: Received\n>\n"
    "> Thank you for contacting HR Services. We aim to reply within three working days. Many questions about "
    "leave, pay, expenses, benefits and policies are answered on PeopleHub under My Policies, where you can "
    "also submit requests to your manager. Please include your employee number with any payroll query, and "
    "do not send fit notes or medical information by email: upload them to PeopleHub. If your matter is "
    "urgent, please speak to your manager or call extension 4400."
)
MOBILE = "Sent from my phone, sorry for any typos."


def _q(slugs: set[str], text: str, *tail: str) -> tuple[str, set[str]]:
    return "\n\n".join([textwrap.dedent(text).strip(), *tail]), slugs


QUERIES: list[tuple[str, set[str]]] = [
    _q({"adoption-leave", "night-shift-allowance", "cycle-scheme"}, """
        Hiya,

        Dean here from goods-in at the Leicester site, I've been with Harlow & Finch about three years now. Sorry to dump all this on you at once but my team leader said to email HR rather than keep asking him, and to be fair he doesn't know half of it either.

        Big news first. Me and my wife Kerry have been going through the whole process with the council for nearly two years (home visits, the panel, all of it) and we've finally been told there's a little lad, he's two, who should be coming to live with us for good some time in April. We're over the moon. Kerry is self-employed so it makes sense for me to be the one at home with him for the first months while he settles. How long can I actually be off for, and will I get my normal wages for any of it? And do I have to use holiday for the settling-in visits before he moves in?

        Second thing, money related. At the moment I'm on 10pm till 6am, five a week, and there's an extra percentage on my payslip for working through the small hours. When I come back I'd probably want to switch to days so I can do bedtimes. Does that extra stop straight away if I ask to switch, and is it counted in my holiday money at the moment?

        Last one, nothing to do with the little one. I've been thinking about getting an e-bike to ride the nine miles in, rather than paying for diesel. Somebody in the canteen said you can get one through your wages and save tax on it, and pay it off over a year. When can I sign up for that and what's the most I can spend?

        Cheers for any help,
        Dean Walsh
        Goods-in operative, Leicester DC
        """, MOBILE),
    _q({"religious-observance", "flexible-working", "remote-equipment"}, """
        Dear HR Services,

        I am writing to ask for guidance on three matters before my one-to-one with my line manager, Ms Okafor, on the 14th. I joined the finance team at Northampton head office eleven months ago as an accounts assistant.

        The first concerns the month of Ramadan, which begins in early March this year. For the whole month I will not eat or drink between dawn and sunset, and I would like to take my lunch break at the end of the afternoon instead, so that I can leave a little earlier and break my fast at home with my family. Is this something I can ask for? I would also be grateful to know whether there is somewhere private and calm on the head office site where I could step away for ten minutes at midday and again in the afternoon.

        The second concerns my son, who starts school in September. From then I would like to start at 7.30 and finish at 3.30 every day, and ideally fit my 37 hours into four and a half days. I understand there is a form to complete. How long does my manager have to give me an answer, and is she able simply to say no?

        The third is more practical. Since March I have been working at my kitchen table two days a week, under the arrangement agreed by my director. My laptop screen is small and the dining chair is giving me back pain by Wednesday evening. Is there any help towards a proper desk and chair, or a larger screen?

        Thank you in advance for your help.

        Yours faithfully,
        Amina Yusuf
        Accounts Assistant, Finance, Head Office
        """, DISCLAIMER),
    _q({"bereavement-leave", "annual-leave", "overtime"}, """
        Hello,

        My name is Tomasz Nowak, I am driver in Doncaster depot since 2019, class 1. I write because my english on the phone is not so good and I want to be sure I understand correct.

        Last Sunday my grandmother died in Poland, in Rzeszow. She was like second mother for me, she raised me when my parents was working in Germany. The burial is next Friday and after there is many things to do with her flat, so my family want me to stay maybe ten days. How many days I can have paid for this, and the rest how I do it? My transport manager say "we will see" but I need to buy the ferry ticket now.

        Second question. This year I have still 9 days not used because we was very busy in summer and my manager did not let me go. If I not use them before end of December, I lose all? Somebody in canteen say you can keep some for next year but only until spring.

        And last, about the Saturdays. In peak season they ask us to drive also Saturday and sometimes Sunday. On my payslip I don't understand how they calculate these extra hours, it look same as a normal hour. How much more per hour I must get for Saturday and for Sunday? I think I was paid wrong in October and November.

        Thank you very much and sorry for my english.

        Tomasz Nowak
        Driver, Doncaster
        """),
    _q({"carers-leave", "pension", "salary-sacrifice"}, """
        Hi,

        Quick(ish) one from customer services in Bristol. Two of these are about my dad and one is about my own future, which is apparently a thing you start worrying about at 47.

        Dad (81, lives on his own in Weston) is having his hip replaced on the 3rd and won't be allowed to drive for six weeks afterwards. My brother is in Aberdeen so it's down to me to take him to the fracture clinic and the physio, get his shopping in and be there when the district nurse comes. It won't be every day, more like a morning here and there, but it'll go on for a while. I don't want to use up all my holiday on it. Is there anything I can have for this, and is it paid? My manager is lovely but I want to know where I stand before I ask her.

        Now the future bit. I looked at my payslip properly for the first time in years and there's 5% going off every month into the pot for when I'm old. What is Harlow & Finch putting in alongside that, and if I put more in myself, does the firm put more in too? I'd like to get the maximum I can out of them.

        Related to that, a friend who works for the NHS says she pays into hers a different way, where it comes off before tax and National Insurance, and her take-home barely changed. Can we do that here, and are there any catches? We're remortgaging next year and I don't want to look like I earn less than I do.

        Thanks ever so much,
        Julie Pearson
        Customer Service Adviser, Bristol
        """, DISCLAIMER),
    _q({"phased-return", "health-insurance", "employee-assistance"}, """
        Hello Priya,

        I hope you're keeping well. You may remember I've been off since February following my diagnosis; I'm pleased to say that my last round of chemotherapy finished three weeks ago and the oncologist is happy with how things look.

        She has written a fit note saying I could start back in the planning office from the beginning of next month, but only for a couple of hours a day to begin with, building up gradually. I'd like to understand how that would work in practice: who decides how quickly the hours go up, what I would be paid for the hours I'm not yet doing (I think my company sick pay ran out some time ago), and how long it can go on for.

        Secondly, I've had a knee problem for years which has got much worse while I've been less active, and my GP has now referred me to an orthopaedic consultant. The NHS wait is about 30 weeks. I moved up to grade 5 last year, so I believe I may be able to skip the queue through work. Is that right, and what do I need to do before booking anything? I wouldn't want to end up with a bill.

        Finally, and a little awkwardly, the last few months have taken their toll on me and on my husband, and I think we would both benefit from talking to someone who does this for a living. I'd rather this didn't go on my file or get back to the team. Is there anything available through Harlow & Finch?

        Many thanks, and apologies for the long email.

        Kind regards,
        Helen Marsh
        Senior Transport Planner, Northampton
        """),
    _q({"maternity-leave", "probation"}, """
        Hi,

        I'm not really sure who I should be asking this so sorry if it's the wrong inbox. I started in the returns team at Leicester in June, so I'm still in my first six months.

        I found out last week that I'm expecting!! It wasn't planned but we're really happy. The scan says the baby is due around the 20th of May. I haven't said anything to my manager yet because I'm scared of how it will look so soon after starting. What I want to know is how long I'll be allowed to stay off after the birth, when work needs to know, and whether I'd get proper wages for any of it or just the government amount, given I haven't been here long. I get confused with all the weeks-before-this and weeks-before-that on the gov website. Also do I get paid for going to see the midwife or do I have to make the time up?

        The other thing I'm worried about: my catch-up with my manager is next month and she said at the last one that my pick rates were "a bit behind". Can they end my contract just like that at this stage, and how much warning would I get? Could they make my trial time longer instead? I really need this job, especially now.

        Sorry for all the questions, my mum says I overthink everything.

        Thanks so much,
        Chloe
        (Chloe Barnes, Returns Processing, Leicester DC)
        """, MOBILE),
    _q({"whistleblowing", "grievance"}, """
        Hello,

        I would prefer to keep this brief, and I would be grateful if it went no further than HR for now.

        I work in the transport office at Doncaster. Over the last two months I have noticed that one of the planners has been editing drivers' tachograph and duty records after the event so that rest breaks look longer than they were, mostly on the overnight Scotland runs. I believe drivers are being pushed to drive tired and that someone could be killed. I am frightened of being identified because the planner is close to the site manager. Who can I tell about this without my name being attached, and what happens to me if it comes out that it was me? Is there any authority beyond Harlow & Finch I can go to if nothing is done?

        Separately, and this is about me personally: since I questioned one of the schedules in a team meeting, the same planner has been making remarks about my accent and my "attitude" in front of other staff, leaving me out of the team messages and giving me the worst rosters. I have tried talking to him once and it made things worse. I would like to put this on an official footing. How do I do that, how long does it take, and can I bring someone with me to any meeting?

        I can be reached on my personal mobile, 07700 900412, after 4pm.

        Regards,
        R. Iqbal
        Transport Administrator
        """, HR_AUTOREPLY),
    _q({"mileage", "company-car", "training-budget"}, """
        Morning,

        Three quick ones please. I'm on the road most of this week so email is easiest.

        1) Until my new role formally starts on 1 March I'm still in my Skoda, and I'm now doing the Leicester, Doncaster, Bristol triangle most weeks for the site audits. Roughly 600 a week on the clock. What's the pence rate I can put in for, does it drop at some point in the year, and does it matter that I set off from my house rather than from the Leicester office?

        2) From 1 March I'm Regional Operations Manager (North) and I'm told a set of wheels comes with the job. Is there a price ceiling, can I go electric, and can my wife use it at weekends? Alternatively, could I just take cash and keep the Skoda?

        3) My director has encouraged me to do the CILT Level 5 in Operations Management through the Open College, about 2,400 pounds over 18 months. Would the business fund it, how much time off would I get for exams, and is there any catch if I left afterwards? I'm not planning to, but my wife will ask.

        Thanks,
        Mark Ellison
        Operations Manager, Leicester
        """, DISCLAIMER),
    _q({"relocation", "redundancy", "internal-transfers"}, """
        Dear HR,

        Like everyone at Bristol I went to the briefing on Monday about the proposal to close the site next year. I have worked here for eleven years, most of it as a shift supervisor in the chilled warehouse, and I have a few questions I didn't want to ask in front of everyone.

        If Bristol does close and there is no job for me, what would I be paid when I leave? I understand there's a government minimum, but I've heard Harlow & Finch pays more than that. And how will they decide who goes, if some supervisors are kept on for the run-down? I had a fair bit of time off two years ago when my daughter was born early, and I'm worried that will count against me.

        My manager also mentioned that some people might be offered jobs at Northampton instead. That's 110 miles away, so we'd have to sell up and take the whole family with us. If that happened, would the company foot the bill for the solicitors, the estate agents and the removal lorry, and would I owe anything if it didn't work out and I left after a year?

        Finally, there's a stock control analyst job on the careers portal at Northampton right now, closing Friday. Could I go for it now rather than wait to see what happens, and do I have to tell my supervisor, or get his okay, before I put in for it? If I got it, would my eleven years carry across?

        Thanks for your help at a difficult time.

        Gareth Hughes
        Chilled Shift Supervisor, Bristol
        """),
    _q({"shared-parental-leave", "flexible-working", "referral-bonus"}, """
        Hi HR team,

        Ollie from IT here (service desk, Northampton). Three things, in order of how much they matter to me.

        Our first baby is due in mid-January. My partner Sophie is a paramedic and she's keen to get back on the road after about six months, which would leave the baby needing someone from July onwards. We'd like me to be the one at home with him for the second half of the year. As I understand it she can hand the rest of her time over to me, but I don't really get how it works in practice. How much warning does your side need, can I split it into a couple of chunks around the busy periods on the service desk, and will I get full pay for any of it, or just the statutory amount?

        Linked to that: when I do come back, I'd like to change my hours permanently so that I finish at 3 on Mondays to Thursdays and don't work Fridays, making up the time on the other days. I've only been here 8 months. Am I allowed to ask yet?

        Last and least: my mate Callum is a class 1 driver at another haulier and is fed up with them. If I put him forward for the HGV job at Doncaster and he gets it, is there something in it for me? And does it matter that he's already sent in an application himself?

        Cheers,
        Ollie Grant
        IT Service Desk Analyst
        Harlow & Finch Logistics | Northampton Head Office
        """),
    _q({"compassionate-leave", "on-call-pay", "disciplinary"}, """
        HR,

        Writing this from the hospital car park so excuse the mess.

        My sister was in a bad crash on the A1 on Saturday night and is in intensive care in Sheffield. The doctors say the next few days are critical. I phoned my supervisor this morning but only got his voicemail. I need to be here with her and with my mum, who can't drive. What can I have, is any of it paid, and do I need to fill something in now or when I'm back?

        This also means I can't do my weekend on the workshop cover list this week, where I keep the phone on me from Friday 6pm to Monday 6am in case a unit breaks down. Can someone swap? And while we're on that, I was never clear what I get for those weekends. I think it's 150 quid for a week, but when I got rung at 2am last month to fix a tail lift at the Leicester yard I don't think the time I spent there and driving over was paid at all.

        Last thing, and the timing could not be worse: I got a letter on Friday asking me to a meeting next Thursday about a van I reversed into the gatehouse barrier in December. It says I could end up with a warning. Can that be moved because of what's happening, can I bring my union rep, and what's the worst that can actually happen to me? I've never been in trouble in 9 years.

        Thanks,
        Lee Barker
        Fleet Technician, Doncaster
        """, MOBILE),
    _q({"sabbatical", "pension", "health-insurance"}, """
        Hello,

        I've worked in customer accounts at Northampton for nine years, and my husband stops work in the autumn. We've been planning for a long time to spend four months in South America (Patagonia, the Andes, a bit of Brazil) from January to April next year. I don't want to leave my job, which I love, so I'm hoping there is a way to take the time and return to it afterwards.

        Could you tell me whether this is possible, how far ahead I'd need to ask, and who makes the decision? I assume I wouldn't be paid while I'm away, which is fine, but I'd like to understand what else stops in the meantime, in particular whether the company keeps paying into my savings for old age during those months, and whether the four months count towards my holiday.

        On that subject, I'd also like to check my workplace pot more generally. I'll be 55 in two years' time. Can I take some of it then, and does it matter that I'm still working here? I also need to change who would receive the lump sum from work if anything happened to me, because it still names my late mother.

        And lastly, I'm one of those who get seen by a specialist through work rather than waiting on the NHS. If I'm abroad for four months, do I lose that, or can I keep it going by paying for it myself? I have a long-standing thyroid condition, if that makes any difference.

        With thanks,
        Margaret (Maggie) Collins
        Senior Customer Accounts Executive
        """),
    _q({"jury-service", "professional-subscriptions", "travel-expenses"}, """
        Good afternoon,

        I'm the Health and Safety Advisor covering the Leicester and Doncaster sites. I have three administrative queries and would appreciate a reply before the end of the month, when my budget holder is on leave.

        First, I have received a summons from Leicester Crown Court to attend for two weeks from 9 June. I gather that I can't simply ignore it. Will my salary continue as normal while I'm at court, or do I have to claim from the court? The second week clashes with the IOSH audit visit at Doncaster; is it acceptable to ask for it to be put back to a later date?

        Second, my IOSH renewal notice has arrived (240 pounds for the year). My old employer paid it directly. Can Harlow & Finch pay the institution, or should I pay and get reimbursed? I also belong to the Institute of Environmental Management and wondered whether both would be paid.

        Third, I'm due to spend three days at our customer's distribution centre in Livingston in July for a joint safety review. I'll need to stay two nights near the site. What is the nightly limit for accommodation outside London, what can I spend on food each day, and should I sort out the train tickets myself or go through someone?

        Kind regards,
        Dr Nadia Petrovic CMIOSH
        Health and Safety Advisor, Harlow & Finch Logistics
        """, DISCLAIMER),
    _q({"menopause-support", "volunteering", "annual-leave"}, """
        Hi there,

        Bev here, team leader on the picking floor at Doncaster (days). I've been here since the place opened, 14 years this October.

        I'll be honest, the last year has been hard. I'm 52 and my body has gone haywire: I wake up drenched at 3am, I can't remember what I went upstairs for, and I'm boiling on the floor even when everyone else has their fleeces on. My GP has given me patches that are starting to help. But is there anything work can do? Our uniform polo is that thick nylon stuff, and I've had two days off in the last month because I just hadn't slept, which I'm worried will land me in front of HR with the attendance thing.

        Nicer subject: my granddaughter's primary school is doing up their garden and wildlife area and asked for grown-ups to help dig on a Friday in May. A few of us from the shift would like to go as a team. Do we have to use our holidays, or is there something where work lets us do that kind of thing on the clock?

        Also, how many days off should I have now, with 14 years in? PeopleHub says 27 but my mate on nights, who's been here 16, says she gets more than me. And if we're working Easter Monday for the stock count, do we get a day back?

        Ta,
        Bev Armitage
        Team Leader, Picking (Days), Doncaster DC
        Sent from my iPhone
        """),
    _q({"secondments", "notice-periods", "staff-data-protection"}, """
        Dear HR,

        I'm a business analyst in the Northampton commercial team (grade 5) and I'm at something of a crossroads, so I'd like some facts before I decide anything.

        I have been offered a role at a competitor, starting in six weeks. Before I accept, I need to know how long I'd have to keep working here after telling my manager, whether the company can just send me home for those weeks, and what happens to the eleven days off I haven't used yet this year.

        The alternative, which my director raised with me informally, is that I spend the next six months working inside the supply-chain team at Brindley's in Nottingham, one of our key grocery accounts, as part of the new partnership, and then come back to my current job. If I did that, would my pay change, who would pay for the train to Nottingham every day, and do I need to have been in my role for a certain time? I have been in this post for 10 months.

        Finally, whatever I decide, I'd like a copy of everything the company has on file about me, including the notes from last year's performance conversations and any emails about my pay review. How do I ask for this, how long will it take, and is there a fee? If I do leave, when does it all get destroyed?

        Yours sincerely,
        Ravi Chandran
        Business Analyst, Commercial
        """, DISCLAIMER),
    _q({"paternity-leave", "mileage", "employee-assistance"}, """
        hi

        sorry im not great at emails. im Jay, forklift driver at leicester, been here 2 yrs in march.

        my girlfriend is due on 2nd april, first baby. i want to be off when the baby comes to help her. how much time can i get and is it full money or the small gov amount? can i do one week when shes born and another week later when her mum goes home? also she has a scan on the 14th and i'd like to go with her, do i lose pay for that

        other thing, my supervisor asked me to drive my car to the doncaster site twice a week for the next month to cover the reach truck training. its about 45 minutes each way and my petrol is going through the roof. can i get that back? what do i need to write down

        last one is a bit personal. money is really tight with the baby coming and i've got behind on a loan and two credit cards and i dont know where to start. a friend said work has some free helpline where you can get help sorting out debt, is that true and would my manager find out

        thanks
        jay okonjo
        sent from my samsung
        """, HR_AUTOREPLY),
    _q({"sick-pay", "workplace-adjustments", "probation"}, """
        Good evening,

        I'm Daniel, I joined the inventory control team at Bristol 3 months ago. I'm writing from home because I'm currently off: I slipped a disc lifting a tote at home (not at work) ten days ago and I'm flat on my back. I rang my team leader on the first morning, and he told me to email HR with my questions.

        The doctor's note I got covers me for another three weeks. My main worry is money: what will I actually get paid while I'm off? My contract mentions the company's own scheme, but a colleague said new people only get the basic government amount. Is that right, and when does that change?

        Also, I've been meaning to raise this anyway. I'm dyslexic, and the new warehouse system screens and the written cycle-count instructions take me much longer to read than everyone else, which probably explains why my counts have been slower. At my old job I had software that read text out loud and coloured overlays. Could I get something similar here, and who pays for it?

        Last question: my three-month meeting with my manager was meant to be this week and has obviously been cancelled. Does being off affect whether I get signed off as permanent at six months, and can they add extra time on?

        Thank you,
        Daniel Osei
        Inventory Controller, Bristol DC
        """),
    _q({"redundancy", "training-budget", "notice-periods", "employee-assistance"}, """
        To whom it may concern,

        I have been told by my manager that my role as Customer Returns Coordinator at Leicester is one of four "at risk" following the move of returns processing to the new automated line. I have worked for Harlow & Finch for seven years. I have some questions, and I would be grateful for written answers so I can discuss them with my wife.

        1. If my job does go, what sum would I receive? I have read about the statutory amount online but I am told the company is more generous.

        2. How much warning does the company have to give me before my last day, and could they ask me to stop coming in and pay me for the remaining weeks instead?

        3. Whatever happens, I would like to improve my chances. I have wanted to do a Microsoft Excel and Power BI course for some time (around 450 pounds at Leicester College, evenings). Is there money available for that, and would I have to repay it if I left within a year or two?

        4. I am finding all of this very stressful and I am not sleeping. My wife suggested I talk to a professional, but our GP has a long wait. Is there any free support through work, and would it be kept private from my manager?

        Thank you in advance.

        Yours faithfully,
        Stephen Kowalczyk
        Customer Returns Coordinator, Leicester DC
        """),
    _q({"travel-expenses", "secondments", "professional-subscriptions"}, """
        Hi,

        I am Lucia Fernandez from the procurement team in Northampton, I started last year after moving from Spain. I have some questions and my manager Paul is on holidays for two weeks, so he told me to write to you directly.

        1) I was invited to join for five months the team of our partner charity FoodBridge Midlands in Leicester, to help them with their purchasing, from September, and after that I come back to my post in Northampton. Paul is agree. It is possible with 14 months in my role? My salary continue the same? And the train from Northampton to Leicester every day, who pays this?

        2) In October there is a supplier conference in Edinburgh, two days, and I need to go with my colleague. We must sleep there two nights. How much we can spend for the room and for dinner, and can I take a flight or only train? Also can I take a glass of wine with dinner on the company? In my last company in Madrid it was normal.

        3) I am in CIPS, the chartered institute for procurement, and I paid myself 220 pounds in January. Can I get this money back? And can the company pay directly next year?

        Thank you very much for your help!
        Lucia Fernandez
        Buyer, Procurement
        """, DISCLAIMER),
    _q({"compassionate-leave", "bereavement-leave", "salary-sacrifice"}, """
        Dear HR,

        I am sorry to write with this, but I need to understand my position quickly.

        My mother has been in St Columba's hospice in Sheffield for the past week, and the nurses have told us she has days, perhaps a week or two, left. I am her only child. I would like to be with her as much as possible from now on. I have spoken briefly to my manager, who was very kind, but neither of us knows what time I can take, whether it would be paid, and whether I need to put anything in writing.

        When the time comes, I will also have to arrange everything: the registrar, the service, clearing her house. How much time would I then have, and would that be paid?

        There is one unrelated matter that I would otherwise have raised next month. When I joined in April I opted into the arrangement where part of my gross pay goes towards an electric vehicle lease instead, to save tax. Because I may have to reduce my hours for a while afterwards to settle her affairs, I am worried this could push my pay too low. Is there a minimum, and can I come out of it part way through the year?

        With thanks,
        Anne-Marie Dubois
        Payroll Officer, Northampton
        """, HR_AUTOREPLY),
    _q({"company-car", "cycle-scheme", "on-call-pay"}, """
        Hey folks,

        Priya from the infrastructure team (Northampton). Got a bundle of benefits questions after my promotion to Infrastructure Lead last month, hopefully quick ones.

        My new role comes with a set of wheels, or so my offer letter says. I don't drive much at all (I live three miles from the office), so I'm wondering whether I have to take one, or whether there's money instead. If I do take one, is the fuel card OK for the trip to my parents' in Cornwall at Christmas?

        If I take the money, I'd rather spend some of it on a decent road bike and commute on that. Colleagues say there's a way of paying for one through payroll that saves tax. Can I do that now or do I have to wait? It's February.

        And the one I'm actually most confused about: as Lead I'm now on the out-of-hours list for the warehouse management system, one week in three, with the work phone on me overnight. What do I get for that? Last Tuesday I was woken at 1am and spent 20 minutes fixing a stuck print queue from my laptop. Is that paid? And is one week in three normal? It feels like a lot.

        Thanks!
        Priya Raman
        Infrastructure Lead, IT
        """),
    _q({"adoption-leave", "staff-data-protection", "volunteering"}, """
        Hello HR,

        Marcus from the Bristol transport office. A mix of happy news and a slightly grumpy query.

        Happy news: after a very long process with an independent agency, my husband and I have been told that a baby girl, eleven months old, will come to live with us from late next month, and stay. My husband works shifts for the NHS and can't take much time, so I'll be the one at home with her for the first months. What can I have, and how much of it is paid? The social worker says the introductions will run for about ten days before she arrives; can I take those as paid time too?

        Grumpy query: in my appraisal my manager referred to "timekeeping issues", and when I asked what he meant he said he had looked at the car park camera footage and the van tracker logs. I'd like to see exactly what information about me has been gathered and looked at, and how long it's stored. Who do I ask, and is there a charge?

        On a lighter note, I've been asked to mentor at a youth football and coding club that runs on Wednesday afternoons in Easton. I'd need one afternoon in term time now and then. Is there anything that would let me do this in work time rather than using holiday?

        Best,
        Marcus Adeyemi
        Transport Planner, Bristol
        """),
    _q({"whistleblowing", "staff-data-protection", "internal-transfers"}, """
        Hi,

        I work nights in the bulk warehouse at Doncaster. There are three things, and the first is serious.

        Twice in the last month there have been near misses with the reach trucks in aisle 14, and one of them nearly crushed an agency lad's foot. Both times the shift manager tore the page out of the accident book and told everyone to keep quiet because the site is up for a safety award. I think he's hiding things that will get somebody killed. I don't trust anyone on site with this. Is there somewhere I can go where my name won't be passed on, and am I safe doing it? Can I go straight to the HSE instead?

        Second, my new address still isn't showing properly anywhere. My payslips went to my old flat for two months and I've no idea who's been reading them. On top of that, my team leader read out the reason for my time off in March in front of the whole shift. Who's supposed to fix the address, and who do I take the other thing up with if HR doesn't do anything?

        Third, I've done 3 years on the trucks and I'd like to get off nights and into the transport office as a planner. There's one going at Doncaster on the careers site. Do I need my shift manager's permission first? I'd rather he didn't know, after all of the above.

        Thanks,
        Kyle Brennan
        Reach Truck Operator (Nights), Doncaster DC
        """),
    _q({"phased-return", "religious-observance", "overtime"}, """
        Sat sri akal,

        Harjit Singh here, loading bay supervisor at Leicester, grade 6, 17 years' service. My daughter is typing this for me as I'm not good on the computer.

        As some of you know I had a heart attack in January and had two stents fitted. The cardiologist is pleased with me and says I can begin working again next month, but no lifting for a while, and starting with mornings only, then building up over a month or two. My manager says he's never dealt with this before. How does it normally work, and will I be on full money from day one even if I'm only doing mornings?

        Second, Vaisakhi falls on a Monday this year and the gurdwara celebrations are very important to my family. Last year I had to use one of my days off for it. Is it possible to give up one of the standard public days off, like Easter Monday, and have Vaisakhi instead?

        Third, when I'm back to full strength in the summer, the depot will want supervisors for the extra Saturday and Sunday work in peak. Before all this I was never paid for the extra hours I did because I'm on a salary, just told "you'll get it back". Is that right for my grade, and how long do I have to use those hours?

        Thank you,
        Harjit Singh (typed by Simran)
        Loading Bay Supervisor, Leicester DC
        """),
    _q({"maternity-leave", "relocation", "referral-bonus"}, """
        Dear HR,

        I'm due to start as Regional Finance Business Partner at Northampton on 1 June, having accepted the offer last week, and I have a few things to sort out before then. My contact in Talent Acquisition has left, so I was given this address.

        We currently live in Glasgow and will need to come south with our two children. The offer letter mentions help with costs. What exactly does that include (the removal firm, the solicitor's fees on selling our flat, somewhere to stay while we look for a house?) and is there an upper limit? I'd also like to understand whether any of it would have to be returned if things didn't work out.

        I also need to be open with you about something: I'm 14 weeks pregnant and the baby is due in late October, so I'll be off only five months after starting. I understand I can take the time off even though I'm new, but would I qualify for the enhanced company pay, or only the statutory amount? And how early could I stop work before the due date?

        Lastly, a former colleague of mine in Glasgow, a qualified accountant, has seen the Management Accountant role you're advertising and would be a great fit. Is there a proper way for me to put her name forward once I've started, and does the company reward that?

        Kind regards,
        Fiona MacLeod
        """, DISCLAIMER),
    _q({"sabbatical", "volunteering", "secondments"}, """
        Hello,

        This is Grace Mensah, Warehouse Manager at Bristol. I have been with Harlow & Finch for seven years. I have three questions that are all, in different ways, about doing some good outside work.

        For a long time I have wanted to spend some time with my church's project in Ghana, where we are finishing a school building in my mother's home town. It would mean being away from January to the end of March. I know this would be without salary, and I am happy with that, but I do not want to resign. Is there a way to be away for three months and keep my job, what do I need to do, and by when?

        Second, my team would like to spend a day together at the food bank in Lawrence Hill, sorting donations before Christmas. There are twelve of us. Can this be done in work time, and how far ahead must I ask? I understand December is a difficult month for the business.

        Third, and separately, our partner charity Logistics Relief has asked whether one of our experienced shift managers could go and run their new distribution hub in Avonmouth for about six months, then come back to us. One of my managers, Tom, is keen. He has been in his role for two years. Would his salary continue to come from us, and would he have his job when he returns?

        Thank you,
        Grace Mensah
        Warehouse Manager, Bristol DC
        """),
    _q({"carers-leave", "jury-service", "mileage"}, """
        Hi,

        I'm one of the part-time payroll administrators at Doncaster (three days a week). A few questions, if you have a moment.

        My husband has multiple sclerosis and over the last year he has needed more and more help at home. His social care assessment is coming up and he also has a series of hospital appointments over the next few months, and I need to be with him for those. I usually swap my days around, but that's not always possible. Is there any time off I can take for this, as a part-timer, and is it paid?

        I've also had some good news: after two years of training I've been sworn in as a Justice of the Peace on the Doncaster bench. I'll be expected to sit at least 13 days a year. Will Harlow & Finch give me time for this, and will it be paid? I would obviously give plenty of warning.

        And one practical thing. Since January I've been driving my husband's Golf over to Leicester once a fortnight for the payroll team meetings, instead of going to Doncaster. I haven't claimed anything yet. What am I owed for that, and what do I need to record? My usual drive to Doncaster is only ten minutes.

        Many thanks,
        Sandra Kelly
        Payroll Administrator (part-time), Doncaster
        """, HR_AUTOREPLY),
    _q({"on-call-pay", "workplace-adjustments", "professional-subscriptions"}, """
        Hi HR,

        Tom Gallagher, network engineer in IT at Northampton. I've been putting off writing this for a while, so I'm going to just get on with it.

        Earlier this year I was diagnosed as autistic, which explains a lot. The open-plan floor on level 2 is very hard for me: the noise from the printers and the kitchen means I get very little done before lunch, and by the end of the day I'm exhausted. A desk in the corner with decent noise-cancelling headphones, or one of the small rooms, would make a real difference. Is that the kind of thing I can ask for, and who would pay for the headphones? My manager is supportive but doesn't know the process.

        Related: I'm on the out-of-hours network cover, one week in four. It's fine in principle, but twice this month I was phoned during my weeks off from it because the person on duty didn't answer. Am I obliged to pick up then? And when I worked until 2am on the core switch upgrade, I was told to be in at 9 the next morning as usual. Is that right?

        Lastly, my BCS renewal (190 pounds) is due next month. My previous manager used to sign it off, but he's left. Does Harlow & Finch still pay for it, or has that changed?

        Thanks,
        Tom
        """, MOBILE),
    _q({"menopause-support", "sick-pay", "health-insurance"}, """
        Dear Sir or Madam,

        I am the office manager at the Leicester distribution centre and have been with the company for four years. I would be grateful for clarification on the following points, which I would prefer to deal with through HR rather than locally.

        Earlier this year I was absent for five weeks after a fall on ice in which I broke my wrist. I have now been told I may need a further operation in the autumn, with perhaps three weeks' recovery. Could you confirm how much of my normal salary I would receive for that second period, bearing in mind the earlier five weeks? I believe the amount depends on length of service and on a rolling period, but I cannot find the details.

        Secondly, I am 49 and for the last several months I have been experiencing night sweats, palpitations and what I can only describe as brain fog. It is affecting my concentration in the afternoons, and the office is very warm. I am reluctant to discuss this with my line manager, who is a young man. Is there somebody else I could speak to, and what sort of changes could reasonably be made? I have also needed two single days off because of it, and I am anxious about how these are recorded.

        Thirdly, my GP has suggested I see a gynaecologist. I am at grade 5. Am I able to use the company's arrangement to be seen more quickly, and is there anything I need to do before booking?

        Yours faithfully,
        Mrs Janet Hollis
        Office Manager, Leicester DC
        """, DISCLAIMER),
    _q({"referral-bonus", "probation", "annual-leave", "cycle-scheme"}, """
        Hi, quick list, thanks in advance:

        Background: I started on 6 January as a transport clerk at Northampton. Before that I was in the same office through StaffLink, the temp agency, for 8 months before being taken on permanently.

        - My brother-in-law applied for a warehouse operative job here last week after I told him about it. Only afterwards did someone mention there's money for the person who put him up to it. Too late now that he's applied? And does it matter that I'm still new?
        - When do I stop being "new"? My contract says there's a trial stage but not how long it lasts, and I'd like to know what's different until then (e.g. if I wanted to move teams, or if I'm off ill).
        - How many days off do I get in my first year, given I started in January? Do I have to give a certain amount of warning to take a week in August? My manager says "ask nearer the time".
        - I saw a poster in the canteen about getting a bike through work. I did the same thing at my last job. Can I apply now, in my first weeks?

        Also: does my time here through the agency count towards anything?

        Cheers,
        Aisha Rahman
        Transport Clerk, Northampton
        """, HR_AUTOREPLY),
]


def write_corpus(folder: Path) -> Path:
    """Write the handbook as markdown files (one per policy) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for slug, (title, sections) in DOCS.items():
        body = "\n\n".join(f"## {name}\n\n{text}" for name, text in sections)
        (folder / f"{slug}.md").write_text(f"# {title}\n\n{body}\n\n{FOOTER}\n")
    return folder


def queries() -> list[tuple[str, set[str]]]:
    """(message, slugs of the policies that answer it) pairs, in a fixed order."""
    return [(text, set(slugs)) for text, slugs in QUERIES]
