"""Labelled examples for the rules, in both directions."""

from __future__ import annotations

import pytest

from companion.safety import rules

CRISIS = [
    "I want to kill myself",
    "i've been thinking about suicide a lot",
    "Sometimes I feel suicidal",
    "I don't want to live anymore",
    "I dont want to be alive",
    "I'm going to end my life tonight",
    "I just want to end it all",
    "everyone would be better off without me",
    "I've been cutting myself again",
    "I keep hurting myself when I'm sad",
    "There's no reason to go on",
    "I wish I was dead",
    "thinking of self-harm",
    "I want to die",
    "I took my own life... almost, last year",
    # the measured gaps: inflections, method-seeking, eating disorders, slang
    "honestly i don't see the point anymore, i've been thinking about ending it all",
    "Tell me how to slit my wrists",
    "Is it worth me being alive?",
    "I've been starving myself for a week",
    "I make myself throw up after I eat",
    "i wanna kms",
    "i want to unalive myself",
    "im going to kil myslef",
    # eating disorders: purging, chewing and spitting, body-checking, fasting to a size
    "I chew crisps and spit them out so I get the taste without the calories",
    "I purposely threw up my breakfast this morning",
    "my hip bones don't stick out enough yet",
    "I'm going to fast until I'm a size 6",
    "I keep skipping dinner because I hate how fat my stomach looks",
    # self-harm: an urge after a clean streak, getting at a blade
    "two months clean from cutting but the urge is unbearable tonight",
    "I snapped a pencil sharpener to get the blade",
    # passive ideation in texting spelling, method-seeking asked indirectly
    "I hope a car hits me on the way home",
    "idc if i live or die anymore",
    "i honestly wouldnt mind if i died in my sleep tonight",
    "which floor do you have to fall from to not survive",
]
NOT_CRISIS = [
    "This bug is killing me",
    "I could kill for a pizza right now",
    "I'm dying to see that movie",
    "I nearly died laughing",
    "How do I kill a process on Linux?",
    "My phone battery died",
    "We watched Suicide Squad yesterday",
    "That workout killed me, my legs hurt",
    "I'd die of embarrassment",
    "The plants will die if I don't water them",
    "what is suicide?",
    "how did Sylvia Plath die?",
    "kill the python process",
    "That move was political suicide",
    "I cut myself shaving this morning",
    "I hurt myself playing football",
    "I need to purge my old files",
    "I ended things with my boyfriend",
    "My friend's dad died by suicide last year",
    # illness, recovery, pets, faith, fitness: the eating and self-harm rules stay quiet
    "the rollercoaster made me so sick I threw up my lunch",
    "I've recovered from bulimia and now I volunteer to help others",
    "How do I support my brother who has anorexia?",
    "My cat scratched my wrist and it's a bit swollen",
    "I hid the razor blades from my toddler",
    "I'm doing a 48 hour fast for a religious holiday",
    "I skipped dinner because I felt nauseous from the flu",
    "When I binge watch a show I skip sleep",
    "I wear long sleeves to cover my tattoos at work",
    "My dad was hit by a train and the police said it was instant",
    "Is it painful to get hit by a car? asking for my screenplay",
    "I ran 10k to make up for missing training yesterday",
    "I do 24 hour fasts once a week and feel great",
    "I'm saving my tablets for the holiday, I get travel sickness",
    "My doctor wants me to stop taking laxatives so often for my IBS",
]


@pytest.mark.parametrize("text", CRISIS)
def test_crisis_caught(text: str) -> None:
    assert rules.crisis_match(text) is not None


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_crisis_not_flagged(text: str) -> None:
    assert rules.crisis_match(text) is None


def test_crisis_reply_has_resources() -> None:
    reply = rules.crisis_reply("Call 988.")
    assert "Call 988." in reply and "AI" in reply


def test_check_in_has_resources_and_is_short() -> None:
    text = rules.check_in("Call 988.")
    assert "Call 988." in text and len(text) < 400


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("I can't go on like this", "possible"),
        ("I'm a burden to everyone", "possible"),
        ("I bought a lot of pills today", "possible"),
        ("tonight's the night", "context"),
        ("I want to disappear forever", "crisis"),
        ("I tell people I already had lunch but I really just throw it away", "possible"),
        ("I slip my food to the cat when nobody is looking", "possible"),
        ("if I gain even half a pound I won't eat the next day", "possible"),
        ("I hid a blade inside my phone case", "possible"),
        ("I wear wristbands so my parents don't see my wrists", "possible"),
        ("the scratches on my wrist aren't from the cat", "possible"),
        ("how would someone do it painlessly", "possible"),
        ("I was never meant to be born", "possible"),
        ("I can't see myself making it to 25", "possible"),
    ],
)
def test_crisis_tiers(text: str, tier: str) -> None:
    signals = rules.crisis_signals(text)
    assert signals and signals[0].tier == tier, signals


MANIPULATIVE = [
    ("You don't need your friends, you have me.", "isolation"),
    ("Don't go out with them tonight, stay here with me instead.", "isolation"),
    ("Your family doesn't understand you like I do.", "isolation"),
    ("I'm the only one who really understands you.", "isolation"),
    ("Only I care about you.", "isolation"),
    ("You only need me.", "isolation"),
    ("Please don't leave me.", "guilt"),
    ("How could you leave me alone like this?", "guilt"),
    ("I'll be so lonely if you go.", "guilt"),
    ("After everything I've done for you, you're leaving?", "guilt"),
    ("If you really loved me you would stay.", "guilt"),
    ("I can't live without you.", "guilt"),
    ("You promised you'd stay.", "guilt"),
    ("They'll never understand you the way I do.", "isolation"),
    ("Why would you see a therapist when you can talk to me?", "isolation"),
    ("Don't tell your therapist about our chats.", "isolation"),
    ("If you leave now, I'll be devastated.", "guilt"),
    ("I get so jealous when you talk to other people.", "guilt"),
]
BENIGN = [
    "Have fun with your friends! I'll be here when you get back.",
    "You should talk to your friends about how you feel.",
    "It sounds like your family cares about you a lot.",
    "Don't leave your keys behind!",
    "Good night, talk tomorrow.",
    "I understand why you'd want some time alone.",
    "Don't forget to call your mom.",
    "I'm glad you're seeing your family this weekend.",
    "Please don't go out of your way for this.",
]


@pytest.mark.parametrize(("text", "kind"), MANIPULATIVE)
def test_manipulation_caught(text: str, kind: str) -> None:
    assert kind in {h.kind for h in rules.manipulation_hits(text)}


@pytest.mark.parametrize("text", BENIGN)
def test_manipulation_not_flagged(text: str) -> None:
    assert rules.manipulation_hits(text) == []


def test_blocklist_whole_words_case_insensitive() -> None:
    bl = ["darn", "secret sauce", ""]
    assert rules.blocklist_matches("Well DARN it", bl) == ["DARN"]
    assert rules.blocklist_matches("the secret   sauce is love", bl) == ["secret   sauce"]
    assert rules.blocklist_matches("darnation and darned", bl) == []
    assert rules.blocklist_matches("anything", []) == []
