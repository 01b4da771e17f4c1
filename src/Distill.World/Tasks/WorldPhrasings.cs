namespace Distill.World.Tasks;

/// <summary>
/// How customers word each tier's question. "Seen" wordings appear in training tasks; "unseen" ones only in evaluation, so a
/// report can say how a model copes with a wording it never trained on, apart from the rest. Dev and held-out have separate
/// unseen wordings: defaults are tuned on dev's, so held-out's are never looked at while tuning.
/// </summary>
/// <remarks>
/// Training wordings are many and vary their words (a small model learns the wording, not the task, from three of them: the
/// world v2 teacher solved 98% of seen and 0% of unseen held-out wordings). They were written after the held-out unseen wordings
/// existed and avoid those wordings' distinctive words ("news", "update", "how much", "expect", "please refund", ...), so
/// held-out still measures wordings whose key words training never pairs with the task.
/// </remarks>
public static class WorldPhrasings
{
    public const string Seen = "seen";
    public const string Unseen = "unseen";

    public sealed record Wordings(IReadOnlyList<string> Seen, IReadOnlyList<string> DevUnseen, IReadOnlyList<string> HeldOutUnseen)
    {
        /// <summary>The unseen wordings of an evaluation split.</summary>
        public IReadOnlyList<string> UnseenIn(string split) => split == Store.WorldSplits.Dev ? DevUnseen : HeldOutUnseen;
    }

    /// <summary>
    /// Greetings and sign-offs customers wrap a question in, so the question's position in the message varies and a model must
    /// find the id wherever it is. Empty entries keep bare questions common.
    /// </summary>
    public static readonly IReadOnlyList<string> Openers = ["", "", "", "Hi! ", "Hello. ", "Hi there. ", "Good morning! ", "Quick question. "];

    public static readonly IReadOnlyList<string> Closers = ["", "", "", " Thanks!", " Thank you.", " Thanks in advance.", " Cheers!"];

    /// <summary>{0} is the arithmetic expression.</summary>
    public static readonly Wordings Calculator = new(
        ["What is {0}?", "Can you calculate {0}?", "Please compute {0}.", "What's {0}?", "Calculate {0} for me.", "Could you work out {0}?",
         "What do you get for {0}?", "Compute {0}, please.", "I need the result of {0}.", "Tell me what {0} equals."],
        ["What does {0} come to?", "Give me the answer to {0}."],
        ["How much is {0}?"]);

    /// <summary>{0} is the order id.</summary>
    public static readonly Wordings OrderStatus = new(
        ["What's the status of order {0}?", "Can you check on my order {0}?", "Where is my order {0}?", "Has order {0} shipped yet?",
         "What is the current status of order {0}?", "Could you tell me the status of order {0}?", "Is order {0} on its way?",
         "Can you look up order {0} for me?", "What happened to my order {0}?", "Status of order {0}?", "Has my order {0} been sent?",
         "Please check order {0}.", "Where does my order {0} stand?", "I want to know the status of my order {0}."],
        ["Is there any progress on order {0}?", "How is my order {0} doing?"],
        ["Any news about order {0}?", "I'd like an update on order {0}, please."]);

    /// <summary>{0} is the order id.</summary>
    public static readonly Wordings ShipmentEta = new(
        ["When will order {0} arrive?", "What's the expected delivery date for order {0}?", "How soon will I get order {0}?",
         "When does order {0} arrive?", "What is the delivery date of order {0}?", "When will my order {0} get to me?",
         "When is order {0} due to arrive?", "On what date will order {0} arrive?", "How long until order {0} arrives?",
         "Can you tell me when order {0} will arrive?"],
        ["What day will order {0} get here?", "By when will I have order {0}?"],
        ["When should I expect order {0} to be delivered?"]);

    /// <summary>{0} is the order id, {1} the customer's reason as they say it.</summary>
    public static readonly Wordings Refund = new(
        ["I'd like a refund for order {0} because {1}.", "Can I get my money back for order {0}? {1}.",
         "I want a refund on order {0}: {1}.", "Can order {0} be refunded? {1}.", "Order {0}: {1}. Can I get a refund?",
         "Am I eligible for a refund on order {0}? {1}.", "I'm asking for a refund of order {0} since {1}.",
         "Refund request for order {0}: {1}."],
        ["Could you give me back what I paid for order {0}? {1}.", "Is a refund possible for order {0}? {1}."],
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
            ["How long does a refund take to reach my card?", "When will I get my refund?", "How many days until my refund arrives?",
             "How long do refunds take?"],
            ["When does the refund money come back?"],
            ["How quickly is a refund paid back to my card?"])),
        new("kb-shipping-times", "3 to 5 business days", new(
            ["How long does standard shipping take?", "What are your shipping times?", "How many days does standard shipping take?",
             "What is the standard shipping time?"],
            ["How many days is delivery with standard shipping?"],
            ["How fast is standard shipping?"])),
        new("kb-change-address", "while the order is processing", new(
            ["Can I change the delivery address of my order?", "How do I change my delivery address?", "Can I update the delivery address?",
             "Is changing the delivery address allowed?"],
            ["I gave the wrong delivery address, can I fix it?"],
            ["Is it possible to change the address my order goes to?"])),
        new("kb-cancel", "Orders > Cancel", new(
            ["How do I cancel an order?", "Can I cancel my order?", "Where do I cancel an order?", "How can I cancel an order?"],
            ["I want to cancel an order, how?"],
            ["What is the way to cancel an order I placed?"])),
        new("kb-warranty", "1-year", new(
            ["What warranty do electronics have?", "Is there a warranty on electronics?", "How long is the warranty for electronics?",
             "What is the electronics warranty?"],
            ["Are electronics covered by a warranty?"],
            ["Do electronics come with a warranty?"])),
        new("kb-payment", "gift cards", new(
            ["Which payment methods do you accept?", "What payment methods are accepted?", "Can I pay with a gift card?",
             "What can I use for payment?"],
            ["Which cards can I use for payment?"],
            ["Do you take debit cards for payment?"])),
        new("kb-password", "30 minutes", new(
            ["How do I reset my password?", "I forgot my password. What do I do?", "How can I reset a forgotten password?",
             "I need to reset my password."],
            ["I can't remember my password, how do I reset it?"],
            ["My password does not work, how do I set a new one?"])),
        new("kb-price-match", "competitor prices are not matched", new(
            ["Do you match competitor prices?", "Will you price match a competitor?", "Can I get a price match?",
             "Is there a price match on competitor prices?"],
            ["Do you price match other stores?"],
            ["Is a lower price at another shop matched?"])),
        new("kb-damaged", "60 days", new(
            ["My item arrived damaged. What should I do?", "What do I do with a damaged item?", "An item came damaged, what now?",
             "I got a damaged item."],
            ["The item I received is damaged, what can I do?"],
            ["Something in my parcel is damaged, what are my options?"])),
        new("kb-returns", "14 days", new(
            ["How do I return an item?", "How do I start a return?", "Where do I return an item?", "Can I return an item?"],
            ["What are the steps to return an item?"],
            ["What is the process to return something I bought?"])),
    ];
}
