namespace Distill.Models.Chat;

/// <summary>How the system turn offers tools to the model. The assistant's tool-call output is the same in both.</summary>
public enum ChatToolFormat
{
    /// <summary>Qwen2.5's own rendering: every tool's full JSON schema inside &lt;tools&gt;&lt;/tools&gt; (what transformers renders).</summary>
    Json,

    /// <summary>
    /// One short signature per tool (<c>lookup_order(order_id: string) - Look up an order.</c>) and a one-line call
    /// instruction: a fraction of the tokens, for small models with short contexts.
    /// </summary>
    Compact,
}
