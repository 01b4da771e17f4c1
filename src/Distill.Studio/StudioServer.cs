using Distill.Core.Errors;
using Distill.Data.Curation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Distill.Studio;

/// <summary>
/// <c>distill studio</c>: the curation page and its JSON API on Kestrel. Loopback by default; see <see cref="StudioSecurity"/> for
/// what protects it.
/// </summary>
public static class StudioServer
{
    /// <summary>The page's files, embedded in this assembly: request path, resource name, content type.</summary>
    private static readonly (string Path, string Resource, string ContentType)[] Assets =
    [
        ("/", "studio/index.html", "text/html; charset=utf-8"),
        ("/app.js", "studio/app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "studio/app.css", "text/css; charset=utf-8"),
    ];

    /// <summary>Builds the studio (not started). Throws <see cref="DistillException"/> for an address it must not serve on.</summary>
    public static WebApplication Build(StudioOptions options, ILoggerFactory? loggerFactory = null)
    {
        var address = options.ResolveAddress();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, options.Port);
            k.Limits.MaxRequestBodySize = 4 * 1024 * 1024;
        });
        builder.Logging.ClearProviders();
        if (loggerFactory is not null) builder.Services.AddSingleton(loggerFactory);
        var app = builder.Build();
        var logger = (loggerFactory ?? app.Services.GetRequiredService<ILoggerFactory>()).CreateLogger("Distill.Studio");
        var security = new StudioSecurity(options);
        var catalog = new DatasetCatalog(options.DataRoots, options.Domains) { PartialAfter = options.PartialAfter };

        app.Use(async (context, next) =>
        {
            try
            {
                await security.InvokeAsync(context, next);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The page went away; nothing to answer.
            }
            catch (StudioNotFoundException e)
            {
                await StudioJson.ErrorAsync(context, StatusCodes.Status404NotFound, e.Message);
            }
            catch (CurationConflictException e)
            {
                await StudioJson.WriteAsync(context, new ConflictBody(e.OneLine, e.CurrentRevision), StatusCodes.Status409Conflict);
            }
            catch (DistillException e)
            {
                await StudioJson.ErrorAsync(context, StatusCodes.Status400BadRequest, e.OneLine);
            }
            catch (BadHttpRequestException e)
            {
                await StudioJson.ErrorAsync(context, e.StatusCode, e.Message);
            }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                logger.LogError(e, "Studio request {Path} failed", context.Request.Path);
                await StudioJson.ErrorAsync(context, StatusCodes.Status500InternalServerError, "The studio failed to answer; run with --verbose for details.");
            }
        });

        StudioApi.Map(app, catalog, options);
        foreach (var (path, resource, contentType) in Assets)
        {
            var bytes = ReadAsset(resource);
            app.MapMethods(path, [HttpMethods.Get, HttpMethods.Head], (HttpContext c) =>
            {
                c.Response.ContentType = contentType;
                c.Response.ContentLength = bytes.Length;
                return HttpMethods.IsHead(c.Request.Method) ? Task.CompletedTask : c.Response.Body.WriteAsync(bytes, c.RequestAborted).AsTask();
            });
        }
        app.MapFallback((HttpContext c) => StudioJson.ErrorAsync(c, StatusCodes.Status404NotFound, $"Unknown route {c.Request.Method} {c.Request.Path}."));
        return app;
    }

    /// <summary>A shipped page file (tests read them to prove what the page does not do).</summary>
    internal static byte[] ReadAsset(string resource)
    {
        using var stream = typeof(StudioServer).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The studio page file '{resource}' is not embedded in the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private sealed record ConflictBody(string Error, int CurrentRevision);
}
