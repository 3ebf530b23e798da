"""The product and policy documents of the scenario set: a fictional retail bank, Northbridge Bank.

Authored for this project (not taken from any bank): realistic in shape, not in fact. Each document is
a title, sections of a few sentences with concrete figures, and the contact and legal boilerplate
that real product pages repeat, so that lexical overlap between documents is high, as it is in a
real knowledge base. `NEEDS` are customer phrasings of what each document answers; scenarios.py
combines several of them, with narrative and boilerplate, into long queries.
"""

from __future__ import annotations

CONTACT = ("## Contact us\n\nCall us on 0345 600 1234, Monday to Friday 8am to 8pm and Saturday 9am to 2pm, "
           "or send a secure message in the app. Calls may be recorded for training and quality purposes.")
LEGAL = ("## Important information\n\nNorthbridge Bank plc is authorised and regulated. Terms and conditions "
         "apply. Please read the full terms before you apply. Information correct at the time of publishing.")

# slug: (title, [(section, text), ...], needs)
DOCS: dict[str, tuple[str, list[tuple[str, str]], list[str]]] = {
    "everyday-account": ("Everyday Current Account", [
        ("Overview", "The Everyday Current Account has no monthly fee. You get a contactless debit card, online and mobile banking, and can pay in cash at any branch or Post Office counter."),
        ("Who can apply", "You must be 18 or over and a UK resident. You can hold no more than two Everyday accounts in your name, including joint accounts."),
        ("Arranged overdraft", "You can ask for an arranged overdraft of up to 2,500 pounds. Interest is charged at 39.9% EAR variable on the overdrawn balance; there is no fee for unarranged payments we refuse."),
    ], ["I want a normal current account with no monthly fee that I can use with a debit card",
        "can I have more than two everyday current accounts in my name"]),
    "premier-account": ("Premier Current Account", [
        ("Overview", "Premier costs 15 pounds a month, waived if you pay in at least 5,000 pounds a month. It includes worldwide family travel insurance, a dedicated relationship manager and airport lounge passes."),
        ("Eligibility", "You need a sole income of 75,000 pounds or more paid into the account, or savings and investments of 100,000 pounds with us."),
        ("Downgrading", "If you no longer meet the criteria we will write to give you 60 days' notice before moving you to an Everyday account. Your account number and sort code stay the same."),
    ], ["what do I need to earn to qualify for the premium account with travel insurance and lounge access",
        "will you move me off premier if my salary drops, and will my sort code change"]),
    "student-account": ("Student Current Account", [
        ("Overview", "Full-time undergraduate students can open a Student Account with an interest-free arranged overdraft that grows to 2,000 pounds by the third year of study."),
        ("Overdraft", "The overdraft is 500 pounds in year one, 1,500 in year two and 2,000 in year three. After graduation it becomes a Graduate account and the interest-free amount falls by 500 pounds each year over three years."),
        ("What you need", "Bring your UCAS confirmation letter or a letter from your university, and photo identification."),
    ], ["my son is starting university and needs an account with an interest free overdraft",
        "what happens to the interest free overdraft after I graduate"]),
    "basic-account": ("Basic Bank Account", [
        ("Overview", "The Basic Bank Account is for people who cannot get a standard current account, for example because of a poor credit history. There is no overdraft and no credit check affects your eligibility."),
        ("Features", "You get a debit card, can set up direct debits and standing orders, and have no fees for failed payments."),
    ], ["I have bad credit and was refused an account, is there an account without a credit check"]),
    "joint-account": ("Joint Accounts", [
        ("Opening a joint account", "Up to four people can hold a current account jointly. Each holder has full access and can make payments without the others' permission."),
        ("Responsibility", "Each account holder is responsible for the whole of any overdraft, not just their share. If one holder's debts are registered, it may appear on the other holder's credit file as a financial association."),
        ("Removing a holder", "To remove a holder, all holders must sign the request, unless one has died. After separation either holder can ask us to freeze the account so that payments need both signatures."),
    ], ["my partner and I have separated and I want to stop them emptying our joint account",
        "am I liable for the whole overdraft on a joint account with my ex"]),
    "easy-saver": ("Easy Saver", [
        ("Overview", "Easy Saver pays 3.10% AER variable on balances from 1 pound. You can withdraw money whenever you like without losing interest."),
        ("Interest", "Interest is calculated daily and paid monthly. We will tell you at least 14 days before we reduce the rate."),
    ], ["I want a savings account where I can take money out any time without a penalty"]),
    "fixed-rate-bond": ("Fixed Rate Bond", [
        ("Overview", "Lock your money away for one, two or three years at a fixed rate. The minimum deposit is 1,000 pounds and the maximum is 1,000,000 pounds."),
        ("Early access", "You cannot withdraw before the end of the term, except in the event of the account holder's death or serious financial hardship, when a charge of 90 days' interest applies."),
        ("Maturity", "We write to you 30 days before maturity. If you do not tell us what to do, the money moves to an Easy Saver."),
    ], ["can I get money out of my fixed term bond early because of hardship, and what does it cost",
        "what happens to my bond when the fixed term ends if I don't reply"]),
    "cash-isa": ("Cash ISA", [
        ("Overview", "A Cash ISA lets you save up to the annual ISA allowance of 20,000 pounds each tax year without paying tax on the interest."),
        ("Transfers", "You can transfer ISAs from other providers into your Northbridge Cash ISA. Transfers must be made by the providers directly: if you withdraw the money yourself it loses its tax-free status. Transfers take up to 15 working days."),
        ("Flexible ISA", "Our Cash ISA is flexible: you can take money out and put it back in the same tax year without it counting twice towards your allowance."),
    ], ["how do I move my tax free savings from another bank without losing the tax benefit",
        "if I take money out of my ISA can I pay it back in this year without using my allowance"]),
    "childrens-saver": ("Children's Saver", [
        ("Overview", "Parents and guardians can open a Children's Saver for a child under 16. It pays 4.00% AER on up to 3,000 pounds."),
        ("Control", "At 16 the child can manage the account themselves. Interest earned on money given by a parent above 100 pounds a year may be taxed as the parent's income."),
    ], ["I want to open a savings account for my daughter who is seven"]),
    "credit-card": ("Classic Credit Card", [
        ("Overview", "The Classic Credit Card has a representative APR of 24.9% variable and no annual fee. Credit limits range from 500 to 10,000 pounds."),
        ("Payments", "You must pay at least the minimum each month: 1% of the balance plus interest and charges, or 25 pounds, whichever is higher. A late payment fee of 12 pounds applies."),
        ("Interest-free period", "Pay your full statement balance by the due date and you pay no interest on purchases, for up to 56 days."),
    ], ["I missed my credit card payment, what is the late fee and the minimum I have to pay"]),
    "balance-transfer": ("Balance Transfer Credit Card", [
        ("Overview", "Move balances from other cards to us and pay 0% interest on them for up to 24 months. A transfer fee of 3% of each amount applies."),
        ("Rules", "Transfers must be made within 60 days of opening the account to get the promotional rate. You cannot transfer a balance from another Northbridge card."),
    ], ["I want to move my credit card debt from another bank to a card with no interest"]),
    "personal-loan": ("Personal Loan", [
        ("Overview", "Borrow 1,000 to 35,000 pounds over one to seven years. Representative 6.4% APR for loans of 7,500 to 25,000 pounds."),
        ("Repaying early", "You can repay all or part of your loan at any time. We may charge up to 58 days' interest on the amount repaid early."),
        ("Applying", "Checking your rate does not affect your credit score. A full application leaves a hard search on your credit file."),
    ], ["can I pay off my personal loan early and is there a charge",
        "will checking a loan rate hurt my credit score"]),
    "car-finance": ("Car Finance", [
        ("Hire purchase", "With hire purchase you pay a deposit and monthly instalments and own the car after the final payment. Until then the car belongs to the lender."),
        ("Voluntary termination", "Once you have paid half of the total amount payable you may return the car and owe nothing more, provided it has been looked after."),
    ], ["I can't afford my car finance any more, can I hand the car back"]),
    "mortgage-first-time": ("First-time Buyer Mortgages", [
        ("Overview", "Borrow up to 95% of the property's value with a 5% deposit. We lend up to 4.5 times your income, or 5.5 times for some professions."),
        ("Gifted deposits", "A deposit gifted by family is accepted if the giver signs a letter confirming it is a gift, not a loan, and that they will have no share in the property."),
        ("Cashback", "First-time buyers get 500 pounds cashback paid on completion."),
    ], ["my parents are giving us money for our first house deposit, will you accept that",
        "how much can I borrow for my first home with a five percent deposit"]),
    "remortgage": ("Remortgaging to Northbridge", [
        ("Overview", "Switch your mortgage to us when your current deal ends. We pay standard legal fees and a free basic valuation."),
        ("Product transfer", "Existing customers can choose a new deal up to six months before their current deal ends without a new affordability check if they are not borrowing more."),
        ("Early repayment charges", "Leaving a fixed rate early usually costs an early repayment charge of 1% to 5% of the amount repaid, shown in your offer."),
    ], ["my fixed rate ends in four months, can I lock in a new deal now",
        "how much will it cost to leave my fixed rate mortgage early"]),
    "mortgage-holiday": ("Mortgage Payment Difficulties", [
        ("Talk to us early", "If you are struggling to pay your mortgage, contact us before you miss a payment. We can look at a payment holiday, a temporary switch to interest only, or extending your term."),
        ("Payment holidays", "A payment holiday of up to three months may be possible. Interest continues to be added, so your later payments will rise."),
        ("Repossession", "We only consider repossession as a last resort and will always try to agree a plan with you first."),
    ], ["I lost my job and might not make my mortgage payments, can I take a payment break"]),
    "buy-to-let": ("Buy-to-let Mortgages", [
        ("Overview", "Buy-to-let mortgages need a 25% deposit. The expected rent must be at least 125% of the monthly interest at a stress rate of 5.5%."),
        ("Letting your home", "If you want to rent out the home you live in, you need our consent to let; a fee of 150 pounds may apply and your rate may change."),
    ], ["I'm moving abroad for work and want to rent out my house, do I need permission from the bank"]),
    "fraud-refunds": ("Fraud and Scam Refunds", [
        ("Unauthorised payments", "If a payment was made from your account without your permission, tell us immediately. We will normally refund it by the end of the next business day, unless we suspect you acted fraudulently or with gross negligence."),
        ("Authorised push payment scams", "If you were tricked into sending money to a fraudster, report it to us within 13 months. Under the reimbursement rules we refund eligible victims up to 85,000 pounds, less an excess of up to 100 pounds."),
        ("What we will ask", "We will ask how you were contacted, what you were told and what checks you made. We may share information with the receiving bank to try to recover funds."),
    ], ["someone pretending to be from the bank convinced me to transfer my savings, can I get it back",
        "there are payments on my statement I did not make"]),
    "disputes-chargeback": ("Disputing a Card Payment", [
        ("Chargeback", "If goods you paid for by card never arrived or were faulty, and the retailer won't help, we can raise a chargeback. Contact us within 120 days of the expected delivery date."),
        ("Section 75", "For credit card purchases between 100 and 30,000 pounds, the card provider is jointly liable with the retailer if something goes wrong."),
        ("Subscriptions", "You can cancel a recurring card payment by telling the merchant and us; we will stop future payments even if the merchant does not respond."),
    ], ["I paid by card for a sofa that never arrived and the shop has closed",
        "a subscription keeps taking money from my card after I cancelled"]),
    "lost-stolen-card": ("Lost or Stolen Cards", [
        ("Report it", "Freeze your card in the app straight away, then report it lost or stolen. Your replacement arrives in three to five working days."),
        ("Emergency cash", "If you are abroad we can arrange emergency cash of up to 500 pounds to be collected at a partner location, usually within 24 hours."),
        ("Your PIN", "Your new card has the same PIN as your old one unless you report that your PIN was also compromised."),
    ], ["my wallet was stolen on holiday and I have no money, can you help me get cash",
        "will my replacement card have a new PIN"]),
    "card-controls": ("Card Controls in the App", [
        ("Freezing", "You can freeze and unfreeze your debit or credit card in the app at any time. A frozen card declines new payments, but direct debits and regular payments continue."),
        ("Gambling block", "Switch on the gambling block to stop card payments to gambling merchants. Once on, it takes 48 hours to switch off."),
        ("Contactless limit", "You can choose your own contactless limit between 0 and 100 pounds, or turn contactless off."),
    ], ["I want to stop myself spending on betting sites with my card",
        "can I temporarily lock my card if I misplace it"]),
    "bereavement": ("Bereavement Support", [
        ("Telling us", "You can tell us about a death online, by phone or in a branch. We will need the death certificate or an interim certificate, and details of the executor or administrator."),
        ("Accounts of the deceased", "Sole accounts are frozen once we are told. We can release up to 50,000 pounds without a grant of probate. Funeral bills can be paid directly from the account."),
        ("Joint accounts", "Money in a joint account usually passes to the surviving account holder, who can keep using it."),
    ], ["my father passed away, how do I access his accounts to pay for the funeral",
        "do I need probate to close my late mother's bank account"]),
    "power-of-attorney": ("Power of Attorney and Third-party Access", [
        ("Registering a power of attorney", "Send us the original registered lasting power of attorney or a certified copy. We register it within ten working days and attorneys can then manage the accounts."),
        ("Third-party mandate", "If the account holder still has mental capacity, they can give someone else access with a third-party mandate instead."),
    ], ["I have lasting power of attorney for my mum who has dementia, how do I manage her bank account"]),
    "financial-difficulty": ("Help if You're Struggling Financially", [
        ("Support we offer", "If you are finding it hard to keep up with payments, we can agree a reduced payment plan, freeze interest and charges, or pause collections for 30 days while you get advice."),
        ("Free debt advice", "We can refer you to free, independent debt advice charities. Using them does not affect how we treat you."),
        ("Breathing space", "If you enter a statutory breathing space, we stop interest, charges and enforcement for 60 days."),
    ], ["I'm behind on several bills and my overdraft, can you freeze the interest while I sort things out"]),
    "vulnerable-customers": ("Extra Support", [
        ("Telling us about your circumstances", "If your health, a life event or your circumstances make banking harder, tell us and we will record the support you need, such as large print, extra time on calls or a trusted contact."),
        ("Trusted contact", "You can name a trusted person we may contact if we are worried about you or suspect you are being financially abused."),
    ], ["my elderly father has poor eyesight and gets confused on the phone, what extra help is there"]),
    "complaints": ("Making a Complaint", [
        ("How to complain", "You can complain by phone, in branch, in writing or in the app. We aim to resolve most complaints within three business days."),
        ("Final response", "If we cannot resolve it sooner, we send a final response within eight weeks. If you are unhappy, you can refer it to the Financial Ombudsman Service within six months of our final response."),
    ], ["I'm unhappy with how my problem was handled and want to take it to the ombudsman"]),
    "overdraft-charges": ("Overdraft Charges", [
        ("How we charge", "Arranged overdrafts cost 39.9% EAR variable. There is no charge on the first 50 pounds of an arranged overdraft for Everyday customers."),
        ("Unarranged borrowing", "If a payment would take you over your limit we usually refuse it, and we do not charge for refused payments. We text you when you are close to your limit."),
    ], ["how much interest do you charge on an overdraft and is there a buffer"]),
    "international-payments": ("Sending Money Abroad", [
        ("Fees", "International payments cost 9.50 pounds in branch or free in the app. Payments in euros to the SEPA area arrive in one business day; other currencies take up to four."),
        ("Exchange rates", "We use the Northbridge exchange rate at the time of the payment, which includes a margin. The app shows the rate and total cost before you confirm."),
        ("What you need", "You need the recipient's name, IBAN or account number, the bank's SWIFT/BIC code and address."),
    ], ["I need to send money to my sister in Spain, how long does it take and what does it cost"]),
    "payments-limits": ("Payment Limits", [
        ("Daily limits", "You can send up to 25,000 pounds a day by Faster Payment in the app, and up to 250,000 pounds by CHAPS in branch."),
        ("Larger payments", "For a house purchase, use CHAPS in branch or call us in advance so we can raise your limit temporarily. CHAPS costs 25 pounds."),
        ("Payments held for checks", "We may hold a payment to check it is genuine. We will call or message you; the payment is released once you confirm."),
    ], ["I need to send 60,000 pounds to my solicitor for a house completion, what is the limit",
        "my payment is stuck pending, why has it been held"]),
    "direct-debits": ("Direct Debits and Standing Orders", [
        ("Direct Debit Guarantee", "If a direct debit is taken in error, you are entitled to a full and immediate refund from us under the Direct Debit Guarantee."),
        ("Cancelling", "You can cancel a direct debit in the app. Tell the company too, as cancelling does not end your contract with them."),
    ], ["a company took a direct debit payment they should not have, how do I get a refund"]),
    "switching": ("Switching Your Account to Us", [
        ("Current Account Switch Service", "The switch service moves your balance, direct debits and standing orders from your old bank in seven working days and closes the old account."),
        ("Switching incentive", "Switch to an Everyday or Premier account and pay in 1,500 pounds to get 175 pounds; the offer can be withdrawn at any time."),
    ], ["I want to move my current account and all my bills over from my old bank"]),
    "closing-account": ("Closing an Account", [
        ("How to close", "You can close an account in the app, by phone or in branch. Any overdraft must be repaid first, and cards should be cut up."),
        ("Payments after closure", "Payments arriving after closure are returned to the sender. We keep your records for at least five years after you close."),
    ], ["I want to close my account, what happens to payments that come in afterwards"]),
    "identity-verification": ("Proving Your Identity", [
        ("Documents we accept", "We accept a valid passport, a photocard driving licence or a national identity card, plus proof of address dated within the last three months."),
        ("No fixed address", "If you do not have proof of address, for example after leaving care or prison, we can accept a letter from a support worker or the relevant authority."),
    ], ["I am living in a hostel and have no utility bills, can I still open an account"]),
    "address-name-change": ("Changing Your Address or Name", [
        ("Address", "Update your address in the app or online banking. We send a confirmation to your old and new address."),
        ("Name change", "After marriage or a deed poll, bring your marriage certificate or deed poll and photo ID to a branch, or upload them in the app. New cards follow in five working days."),
    ], ["I got married and changed my surname, how do I update my bank details"]),
    "online-security": ("Online Banking Security", [
        ("Security codes", "We send one-time passcodes by text to confirm new payees and larger payments. We will never ask you to read a code out to us over the phone."),
        ("Locked out", "After five wrong passcode attempts your online banking is locked for 24 hours. You can reset your passcode in the app using your card and face ID."),
    ], ["I typed the wrong passcode too many times and I'm locked out of the app"]),
    "fscs-protection": ("Deposit Protection", [
        ("How your money is protected", "Eligible deposits are protected by the Financial Services Compensation Scheme up to 85,000 pounds per person, per banking licence."),
        ("Temporary high balances", "Money from a house sale, inheritance or insurance payout may be protected up to 1 million pounds for six months."),
    ], ["I'm about to receive a big inheritance, is all of it protected if the bank fails"]),
    "travel-insurance": ("Travel Insurance", [
        ("Cover", "Worldwide travel insurance comes with Premier and covers trips of up to 31 days for you, your partner and dependent children under 25."),
        ("Medical conditions", "You must declare pre-existing medical conditions before you travel. An extra premium may apply, and undeclared conditions are not covered."),
        ("Claims", "Report a claim within 31 days of returning home, with receipts and any police or medical reports."),
    ], ["my premier travel insurance, does it cover my heart condition on a trip to Canada"]),
    "cash-abroad": ("Using Your Card Abroad", [
        ("Fees", "Everyday debit card purchases abroad cost 2.99% of the amount; cash withdrawals cost 2.99% plus 1.50 pounds. Premier cards have no foreign transaction fees."),
        ("Telling us you travel", "You do not need to tell us about travel; our fraud checks recognise travel patterns. Keep your mobile number up to date so we can text you."),
    ], ["how much will it cost to take cash out from an ATM in Portugal with my debit card"]),
}
