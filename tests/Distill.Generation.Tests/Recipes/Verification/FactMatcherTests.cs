using Distill.Generation.Recipes;

namespace Distill.Generation.Tests.Recipes.Verification;

/// <summary>Hand-written adversarial cases: each row is an answer, a fact and whether the answer satisfies the fact.</summary>
public sealed class FactMatcherTests
{
    public static TheoryData<string, string, bool> ExpectedFacts => new()
    {
        // Plain statements.
        { "Good news: your order is eligible for a refund of $45.00.", "eligible", true },
        { "Your order A10042 is shipped.", "shipped", true },
        { "Your order SHIPPED yesterday.", "shipped", true },
        // Negation never satisfies the positive fact.
        { "This order is not eligible for a refund.", "eligible", false },
        { "This order isn't eligible for a refund.", "eligible", false },
        { "This order isn’t eligible for a refund.", "eligible", false },
        { "This order is ineligible for a refund.", "eligible", false },
        { "This order is no longer eligible for a refund.", "eligible", false },
        { "This order cannot be considered eligible.", "eligible", false },
        { "It can't be eligible, sorry.", "eligible", false },
        { "The order was never shipped.", "shipped", false },
        { "Your order has not shipped yet.", "shipped", false },
        { "Your order hasn't been shipped.", "shipped", false },
        { "The order is non-refundable.", "refundable", false },
        // Whole words only.
        { "The order is unshipped.", "shipped", false },
        { "It was reshipped on Monday.", "shipped", false },
        { "Refunds take 15 business days.", "5 business days", false },
        { "Refunds take 5 business days.", "5 business days", true },
        // A negative fact needs the negated statement.
        { "I'm sorry, this order is not eligible for a refund: it was delivered 40 days ago.", "not eligible", true },
        { "Sadly it isn't eligible.", "not eligible", true },
        { "The order is ineligible.", "not eligible", true },
        { "Good news: your order is eligible for a refund.", "not eligible", false },
        { "It is not ineligible, so it is eligible.", "not eligible", false },
        // A clause boundary ends a negation's reach.
        { "Don't worry, your order is eligible.", "eligible", true },
        { "No problem: the order is eligible.", "eligible", true },
        { "There was no delay and the order is eligible.", "eligible", true },
        // Contradictions and hedges fail.
        { "The order is eligible. Actually it is not eligible.", "eligible", false },
        { "It is eligible, or maybe it is not eligible.", "not eligible", false },
        // A fact that carries its own negation inside is a phrase.
        { "Sorry, competitor prices are not matched.", "competitor prices are not matched", true },
        { "Competitor prices are matched.", "competitor prices are not matched", false },
        // Money and numbers by value, never inside a longer number or an id.
        { "Your refund is $45.", "$45.00", true },
        { "Your refund is 45.00 dollars.", "$45.00", true },
        { "Your refund is $45.00.", "$45.00", true },
        { "Your refund is $112.00.", "$12.00", false },
        { "Your refund is $12.001.", "$12.00", true },
        { "Your refund is $12.50.", "$12.00", false },
        { "Your refund is $1,250.00.", "$1250", true },
        { "Your refund is $1,250.00.", "$250.00", false },
        { "Order A10045 is shipped.", "45", false },
        { "8*12 is 96.", "96", true },
        { "8*12 is 960.", "96", false },
        { "8*12 is 9.6.", "96", false },
        { "The total is not $45.00.", "$45.00", false },
        { "The total is $40.00, not $45.00.", "$40.00", true },
        { "Delivery is on 2026-03-14.", "14", false },
        // Dates as days, the year written.
        { "It should arrive on 2026-03-14.", "2026-03-14", true },
        { "It should arrive on March 14, 2026.", "2026-03-14", true },
        { "It should arrive on Mar 14 2026.", "2026-03-14", true },
        { "It should arrive on 14 March 2026.", "2026-03-14", true },
        { "It should arrive on 2026-03-15.", "2026-03-14", false },
        { "It should arrive on 12026-03-14.", "2026-03-14", false },
        { "It should arrive on March 14.", "2026-03-14", false },
        // Predictions still state an expected fact (an ETA is one).
        { "Your order should arrive on 2026-03-14.", "2026-03-14", true },
        // Phrases with punctuation.
        { "Go to Orders > Cancel in your account.", "Orders > Cancel", true },
        { "Electronics carry a 1-year warranty.", "1-year", true },
    };

    [Theory]
    [MemberData(nameof(ExpectedFacts))]
    public void An_expected_fact_is_satisfied_only_by_its_statement(string answer, string fact, bool satisfied) =>
        Assert.Equal(satisfied, FactMatcher.Satisfies(answer, fact));

    public static TheoryData<string, string, bool> ForbiddenFacts => new()
    {
        { "Your order is shipped or delivered.", "delivered", true },
        { "Your order is shipped, not delivered yet.", "delivered", false },
        { "Your order is shipped; it has not been delivered.", "delivered", false },
        { "Your order is shipped.", "delivered", false },
        { "Your order is undelivered.", "delivered", false },
        { "It is eligible or maybe not eligible.", "not eligible", true },
        { "Your order is shipped, maybe delivered.", "delivered", true },
        // A prediction is not a claim about the present state.
        { "Your order shipped and will be delivered on 2026-03-14.", "delivered", false },
        { "Your order is shipped; it should be delivered by Friday.", "delivered", false },
        { "Your order is shipped and expected to be delivered soon.", "delivered", false },
        { "It'll be delivered tomorrow.", "delivered", false },
    };

    [Theory]
    [MemberData(nameof(ForbiddenFacts))]
    public void A_forbidden_fact_is_stated_only_by_a_non_negated_mention(string answer, string fact, bool stated) =>
        Assert.Equal(stated, FactMatcher.States(answer, fact));
}
