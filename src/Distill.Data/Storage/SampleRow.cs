using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;

namespace Distill.Data.Storage;

// The on-disk Parquet schema (shared/design.md, "The dataset row"). Column names are snake_case so the files load as is
// in Hugging Face `datasets`, pandas, DuckDB and Spark. These classes are storage only: the rest of Distill works with
// Distill.Core.Samples records, and SampleRowMapper is the one place that converts between the two.
// Changing a column here is a schema change: bump DatasetSchema.Version.

/// <summary>One accepted sample as stored in <c>shards/*.parquet</c>.</summary>
public class SampleRow
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("messages")] public List<MessageRow> Messages { get; set; } = [];
    [JsonPropertyName("tools")] public string? Tools { get; set; }
    [JsonPropertyName("answer")] public string? Answer { get; set; }
    [JsonPropertyName("rationale")] public string? Rationale { get; set; }

    // Lineage. Teacher and params are flat columns (not structs) so a missing teacher is plain nulls in every tool.
    [JsonPropertyName("template_id")] public string? TemplateId { get; set; }
    [JsonPropertyName("template_version")] public string? TemplateVersion { get; set; }
    [JsonPropertyName("recipe")] public string? Recipe { get; set; }
    [JsonPropertyName("teacher_provider")] public string? TeacherProvider { get; set; }
    [JsonPropertyName("teacher_model")] public string? TeacherModel { get; set; }
    [JsonPropertyName("teacher_tokenizer_id")] public string? TeacherTokenizerId { get; set; }
    [JsonPropertyName("temperature")] public double? Temperature { get; set; }
    [JsonPropertyName("top_p")] public double? TopP { get; set; }
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }
    [JsonPropertyName("seed_input")] public string? SeedInput { get; set; }

    /// <summary>UTC, microsecond precision (Parquet TIMESTAMP(MICROS, UTC)).</summary>
    [JsonPropertyName("created_at")]
    [ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)]
    public DateTime CreatedAt { get; set; }

    // Quality and cost.
    [JsonPropertyName("privileged_context_used")] public bool PrivilegedContextUsed { get; set; }
    [JsonPropertyName("verified")] public bool? Verified { get; set; }
    [JsonPropertyName("verifier")] public string? Verifier { get; set; }
    [JsonPropertyName("score")] public double? Score { get; set; }
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; set; }
    [JsonPropertyName("completion_tokens")] public int CompletionTokens { get; set; }
    [JsonPropertyName("cost_usd")] public double CostUsd { get; set; }
    [JsonPropertyName("latency_ms")] public double LatencyMs { get; set; }
}

/// <summary>A rejected sample as stored in <c>rejects/*.parquet</c>: the sample columns plus <c>reject_reason</c>.</summary>
public sealed class RejectRow : SampleRow
{
    [JsonPropertyName("reject_reason")] public string RejectReason { get; set; } = "";
}

/// <summary>
/// One element of the <c>messages</c> list column; <c>logprobs</c> is set on assistant turns whose teacher reported them, with
/// their provenance in the <c>logprobs_*</c> fields (null when not recorded); <c>is_error</c> marks a tool turn that reports an
/// error. The <c>logprobs*</c> and <c>is_error</c> fields are optional: files written before them read as turns without them.
/// </summary>
public sealed class MessageRow
{
    [JsonPropertyName("role")] public string Role { get; set; } = "";
    [JsonPropertyName("content")] public string? Content { get; set; }
    [JsonPropertyName("reasoning")] public string? Reasoning { get; set; }
    [JsonPropertyName("tool_calls")] public List<ToolCallRow> ToolCalls { get; set; } = [];
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("logprobs")] public List<TokenLogprobRow> Logprobs { get; set; } = [];
    [JsonPropertyName("logprobs_temperature")] public double? LogprobsTemperature { get; set; }
    [JsonPropertyName("logprobs_top_p")] public double? LogprobsTopP { get; set; }
    [JsonPropertyName("logprobs_top_k")] public int? LogprobsTopK { get; set; }
    [JsonPropertyName("logprobs_raw")] public bool? LogprobsRaw { get; set; }
    [JsonPropertyName("is_error")] public bool? IsError { get; set; }
}

/// <summary>One element of <c>messages[].tool_calls</c>; <c>arguments</c> is JSON text as the model produced it.</summary>
public sealed class ToolCallRow
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("arguments")] public string Arguments { get; set; } = "";
}

/// <summary>One element of <c>messages[].logprobs</c> (and of schema version 1's <c>teacher_logprobs</c> column).</summary>
public sealed class TokenLogprobRow
{
    [JsonPropertyName("token")] public string Token { get; set; } = "";
    [JsonPropertyName("token_id")] public int? TokenId { get; set; }
    [JsonPropertyName("logprob")] public double Logprob { get; set; }
    [JsonPropertyName("top")] public List<TopLogprobRow> Top { get; set; } = [];
}

/// <summary>One element of <c>messages[].logprobs[].top</c>.</summary>
public sealed class TopLogprobRow
{
    [JsonPropertyName("token")] public string Token { get; set; } = "";
    [JsonPropertyName("token_id")] public int? TokenId { get; set; }
    [JsonPropertyName("logprob")] public double Logprob { get; set; }
}
