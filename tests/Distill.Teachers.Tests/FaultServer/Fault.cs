namespace Distill.Teachers.Tests.FaultServer;

/// <summary>What the fault server does with one request.</summary>
public enum Fault
{
    /// <summary>A normal 200 completion.</summary>
    None,
    /// <summary>429 with the configured Retry-After / retry-after-ms headers.</summary>
    RateLimited,
    /// <summary>500 Internal Server Error.</summary>
    ServerError,
    /// <summary>502 Bad Gateway.</summary>
    BadGateway,
    /// <summary>503 with the configured Retry-After headers.</summary>
    Unavailable,
    /// <summary>400 Bad Request (context length exceeded).</summary>
    BadRequest,
    /// <summary>400 with error code content_filter (Azure's prompt filter).</summary>
    PromptFiltered,
    /// <summary>Never answers; returns when the client gives up (request aborted).</summary>
    Hang,
    /// <summary>Sends the headers and half a body, then resets the connection.</summary>
    DropConnection,
    /// <summary>200 with a body that is not JSON.</summary>
    MalformedJson,
    /// <summary>200 with a tool call whose arguments are not valid JSON.</summary>
    InvalidToolArguments,
    /// <summary>200 with a tool call to a tool that was not offered.</summary>
    UnknownTool,
    /// <summary>200 with finish_reason content_filter and no content.</summary>
    ContentFilter,
    /// <summary>200 with finish_reason length (truncated content).</summary>
    Length,
    /// <summary>200 with a malformed &lt;tool_call&gt; block as text content (what vLLM and `distill serve` return for one).</summary>
    ToolCallAsText,
    /// <summary>404 model_not_found, as OpenAI answers a model name it does not know.</summary>
    ModelNotFound,
    /// <summary>404 DeploymentNotFound, as Azure OpenAI answers a deployment name it does not know.</summary>
    DeploymentNotFound,
}
