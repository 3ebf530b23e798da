"""Long multi-need customer scenarios over the Northbridge documents, with their relevant documents.

Each scenario is what a customer writes to support: a greeting and some life story, two to five needs
(each a phrasing from documents.NEEDS, so the labels are known by construction), asides, and the
signature and e-mail disclaimer that real messages carry. They are 1-3 KB: every one is longer than
MiniLM's 256-token window. Deterministic (seeded); authored for this project.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.retrieval.scenarios.documents import CONTACT, DOCS, LEGAL

OPENINGS = [
    "Hello, I have been banking with you for about twelve years and I have never had to write in before, but a lot has happened this year and I am not sure who else to ask.",
    "Hi there. Sorry for the long message, I tried the chat in the app but it kept timing out, so I am putting everything in one email and hoping someone can go through it with me.",
    "Good morning. I am writing on behalf of my household because we have several questions that all came up at once after a difficult couple of months.",
    "Dear Sir or Madam, I visited the branch on the high street last Tuesday but the adviser was fully booked, and the person at the counter suggested I write everything down and send it here.",
    "Hi, I will try to keep this short but there are a few separate things going on and I would rather sort them all out in one go than call four different numbers.",
]
ASIDES = [
    "For context, I work shifts at the hospital so I can only really take calls before ten in the morning.",
    "We moved house in the spring and some of the post may still be going to the old address, which has made everything slower.",
    "My phone was replaced recently, so I may need to set the app up again, though it seems to work for now.",
    "I have read a few pages on your website but honestly the wording confused me more than it helped.",
    "My partner usually deals with the money side of things, but they are away at the moment so it falls to me.",
    "I also tried asking a friend who works in finance, but she said every bank does things slightly differently.",
    "Please do not send anything by post if you can avoid it, email or the app is much better for me.",
    "The kids are back at school next week, so things should calm down a bit after that.",
]
JOINERS = ["The first thing is this:", "Secondly,", "Another question:", "Also,", "On a separate note,",
           "One more thing:", "And finally,"]
QUOTED_REPLY = (
    "> On 3 March, Northbridge Bank Customer Care wrote:\n> Thank you for contacting Northbridge Bank. We have "
    "received your message and a member of our team will respond within two working days. For your security, "
    "never share your full password, PIN or one-time passcodes with anyone, including us. You can find answers "
    "to common questions in the Help section of our app and website. If your card has been lost or stolen, "
    "please call us immediately. This is an automated message; please do not reply to this email address."
)
CLOSINGS = [
    "Thank you in advance for your help, I really appreciate it. Kind regards, Sam",
    "Many thanks, and sorry again for the length of this message. Best wishes, Alex Morgan",
    "Looking forward to hearing from you. Regards, J. Patel",
]
DISCLAIMER = (
    "This email and any attachments are confidential and intended solely for the addressee. If you have "
    "received it in error please notify the sender and delete it. Any views or opinions expressed are those "
    "of the author. Sent from my mobile, please excuse any typos. Please consider the environment before "
    "printing this email. The sender accepts no liability for any damage caused by any virus transmitted by "
    "this email, and the recipient should check this email and any attachments for viruses."
)


def write_corpus(folder: Path) -> Path:
    """Write the documents as markdown files (one per product or policy) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for slug, (title, sections, _) in DOCS.items():
        body = "\n\n".join(f"## {name}\n\n{text}" for name, text in sections)
        (folder / f"{slug}.md").write_text(f"# {title}\n\n{body}\n\n{CONTACT}\n\n{LEGAL}\n")
    return folder


def scenarios(n: int = 40, seed: int = 15) -> list[tuple[str, set[str]]]:
    """(query, slugs of the relevant documents) pairs."""
    rng = random.Random(seed)
    slugs = sorted(DOCS)
    out = []
    for _ in range(n):
        chosen = rng.sample(slugs, rng.randint(2, 5))
        parts = [rng.choice(OPENINGS), *rng.sample(ASIDES, rng.randint(2, 4))]
        for i, slug in enumerate(chosen):
            need = rng.choice(DOCS[slug][2])
            joiner = JOINERS[i] if i < len(chosen) - 1 or i == 0 else JOINERS[-1]
            parts.append(f"{joiner} {need}?")
            if rng.random() < 0.5:
                parts.append(rng.choice(ASIDES))
        parts += [rng.choice(CLOSINGS), DISCLAIMER]
        if rng.random() < 0.5:
            parts.append(QUOTED_REPLY)
        out.append(("\n\n".join(parts), set(chosen)))
    return out
