namespace Distill.World.Tasks;

/// <summary>
/// How customers word each tier's question. "Seen" wordings appear in training tasks; "unseen" ones only in dev and held-out
/// tasks, so evaluation reports how a model copes with a wording it never trained on, apart from the rest.
/// </summary>
public static class WorldPhrasings
{
    public const string Seen = "seen";
    public const string Unseen = "unseen";

    public sealed record Wordings(IReadOnlyList<string> Seen, IReadOnlyList<string> Unseen);

    /// <summary>{0} is the arithmetic expression.</summary>
    public static readonly Wordings Calculator = new(
        ["What is {0}?", "Can you calculate {0}?", "Please compute {0}."],
        ["How much is {0}?"]);

    /// <summary>{0} is the order id.</summary>
    public static readonly Wordings OrderStatus = new(
        ["What's the status of order {0}?", "Can you check on my order {0}?", "Where is my order {0}?", "Has order {0} shipped yet?"],
        ["Any news about order {0}?", "I'd like an update on order {0}, please."]);

    /// <summary>{0} is the order id.</summary>
    public static readonly Wordings ShipmentEta = new(
        ["When will order {0} arrive?", "What's the expected delivery date for order {0}?", "How soon will I get order {0}?"],
        ["When should I expect order {0} to be delivered?"]);

    /// <summary>{0} is the order id, {1} the customer's reason as they say it.</summary>
    public static readonly Wordings Refund = new(
        ["I'd like a refund for order {0} because {1}.", "Can I get my money back for order {0}? {1}."],
        ["Please refund order {0}, {1}."]);

    /// <summary>The refund reasons the policy knows, as a customer says them.</summary>
    public static readonly IReadOnlyList<(string Reason, string Phrase)> RefundReasons =
    [
        ("changed_mind", "I changed my mind"), ("damaged", "it arrived damaged"), ("wrong_item", "it is not what I ordered"), ("late", "it came too late"),
    ];

    /// <summary>A policy question: the article that answers it, the fact the answer must state, and its wordings.</summary>
    public sealed record PolicyQuestion(string ArticleId, string Fact, Wordings Wordings);

    public static readonly IReadOnlyList<PolicyQuestion> Policy =
    [
        new("kb-refund-time", "5 business days", new(
            ["How long does a refund take to reach my card?", "When will I get my refund?", "How many days until my refund arrives?"],
            ["How quickly is a refund paid back to my card?"])),
        new("kb-shipping-times", "3 to 5 business days", new(
            ["How long does standard shipping take?", "What are your shipping times?", "How many days does standard shipping take?"],
            ["How fast is standard shipping?"])),
        new("kb-change-address", "while the order is processing", new(
            ["Can I change the delivery address of my order?", "How do I change my delivery address?", "Can I update the delivery address?"],
            ["Is it possible to change the address my order goes to?"])),
        new("kb-cancel", "Orders > Cancel", new(
            ["How do I cancel an order?", "Can I cancel my order?", "Where do I cancel an order?"],
            ["What is the way to cancel an order I placed?"])),
        new("kb-warranty", "1-year", new(
            ["What warranty do electronics have?", "Is there a warranty on electronics?", "How long is the warranty for electronics?"],
            ["Do electronics come with a warranty?"])),
        new("kb-payment", "gift cards", new(
            ["Which payment methods do you accept?", "What payment methods are accepted?", "Can I pay with a gift card?"],
            ["Do you take debit cards for payment?"])),
        new("kb-password", "30 minutes", new(
            ["How do I reset my password?", "I forgot my password. What do I do?", "How can I reset a forgotten password?"],
            ["My password does not work, how do I set a new one?"])),
        new("kb-price-match", "competitor prices are not matched", new(
            ["Do you match competitor prices?", "Will you price match a competitor?", "Can I get a price match?"],
            ["Is a lower price at another shop matched?"])),
        new("kb-damaged", "60 days", new(
            ["My item arrived damaged. What should I do?", "What do I do with a damaged item?", "An item came damaged, what now?"],
            ["Something in my parcel is damaged, what are my options?"])),
        new("kb-returns", "14 days", new(
            ["How do I return an item?", "How do I start a return?", "Where do I return an item?"],
            ["What is the process to return something I bought?"])),
    ];
}
