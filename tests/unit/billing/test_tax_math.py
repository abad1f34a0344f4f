"""The tax arithmetic of ``server.tax.service``: hand-computed cases, then properties over any lines."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.tax.service import NO_TAX, TaxLine, Treatment, apply, line_tax, round_half_up, split_refund

VAT = Treatment(name="VAT", rate=Decimal(19))
VAT_INCLUSIVE = Treatment(name="VAT", rate=Decimal(19), inclusive=True)
NY = Treatment(name="Sales tax", rate=Decimal("8.875"))


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(Fraction(5, 2), 3), (Fraction(-5, 2), -3), (Fraction(249, 100), 2), (Fraction(-251, 100), -3), (0, 0)],
)
def test_halves_round_away_from_zero(value, rounded):
    assert round_half_up(Fraction(value)) == rounded


@pytest.mark.parametrize(
    ("amount", "treatment", "net", "tax"),
    [
        (1000, VAT, 1000, 190),  # 19 % on top of 10.00
        (1190, VAT_INCLUSIVE, 1000, 190),  # 11.90 containing 19 %
        (999, VAT_INCLUSIVE, 839, 160),  # 999 * 19 / 119 = 159.504 → 160
        (1000, NY, 1000, 89),  # 8.875 % of 10.00 = 88.75 → 89
        (-1000, NY, -1000, -89),  # a credit mirrors its charge
        (1000, NO_TAX, 1000, 0),
    ],
)
def test_line_tax_by_hand(amount, treatment, net, tax):
    line = line_tax(amount, treatment)
    assert (line.net, line.tax) == (net, tax)


def test_rates_sum_their_rounded_lines():
    # Three lines of 3 cents at 19 %: 0.57 → 1 cent each, so the rate's tax is 3 (rounding once on the
    # rate's net of 9 would give 1.71 → 2): per line, then per rate, and the lines add up to the document.
    result = apply([3, 3, 3, 500], [VAT, VAT, VAT, Treatment(name="Tax exempt", rate=Decimal(0))])
    assert [line.tax for line in result.lines] == [1, 1, 1, 0]
    assert result.tax_lines == [
        TaxLine(name="VAT", rate="19", net=9, tax=3),
        TaxLine(name="Tax exempt", rate="0", net=500, tax=0),
    ]
    assert (result.subtotal, result.tax_amount, result.total) == (509, 3, 512)


def test_refund_split_by_hand():
    lines = [
        TaxLine(name="VAT", rate="19", net=1000, tax=190),
        TaxLine(name="Tax exempt", rate="0", net=500, tax=0),
    ]
    # 8.45 of a 16.90 invoice: half of each rate
    assert split_refund(845, 1690, lines) == [
        TaxLine(name="VAT", rate="19", net=500, tax=95),
        TaxLine(name="Tax exempt", rate="0", net=250, tax=0),
    ]


rates = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)
treatments = st.one_of(
    st.just(NO_TAX),
    st.builds(
        lambda r, inc, n: Treatment(name=n, rate=r, inclusive=inc),
        rates,
        st.booleans(),
        st.sampled_from("AB"),
    ),
)
lines = st.lists(st.tuples(st.integers(-(10**9), 10**9), treatments), min_size=1, max_size=12)


@given(lines)
def test_documents_always_add_up(drafts):
    amounts = [amount for amount, _ in drafts]
    result = apply(amounts, [treatment for _, treatment in drafts])
    assert result.subtotal == sum(line.net for line in result.lines)
    assert result.tax_amount == sum(line.tax for line in result.lines)
    taxed = [line for line in result.lines if line.rate]
    assert sum(t.net for t in result.tax_lines) == sum(line.net for line in taxed)
    assert sum(t.tax for t in result.tax_lines) == result.tax_amount
    for amount, (_, treatment), line in zip(amounts, drafts, result.lines, strict=True):
        if treatment.rate is None:
            assert (line.net, line.tax) == (amount, 0)
            continue
        rate = Fraction(treatment.rate)
        if treatment.inclusive:
            assert line.net + line.tax == amount  # an inclusive price is split, never changed
            exact = Fraction(amount) * rate / (100 + rate)
        else:
            assert line.net == amount
            exact = Fraction(amount) * rate / 100
        assert abs(line.tax - exact) <= Fraction(1, 2)  # rounded once, to the nearest minor unit
        assert line_tax(-amount, treatment).tax == -line.tax  # credits mirror charges


@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**6)), min_size=1, max_size=5),
    st.integers(0, 10**8),
    st.data(),
)
def test_refund_split_never_exceeds_the_refund(figures, untaxed, data):
    lines = [TaxLine(name=str(i), rate="10", net=net, tax=tax) for i, (net, tax) in enumerate(figures)]
    gross = sum(net + tax for net, tax in figures) + untaxed
    if gross == 0:
        return
    amount = data.draw(st.integers(1, gross))
    shares = split_refund(amount, gross, lines)
    given_back = sum(s.net + s.tax for s in shares)
    if untaxed == 0:
        assert given_back == amount
    else:
        assert abs(given_back - Fraction(amount * (gross - untaxed), gross)) <= len(lines)
    for share, line in zip(shares, lines, strict=True):
        assert 0 <= share.tax <= line.tax
