// A bare YARP forwarder: every request to --urls goes to --destination, nothing else.
// dotnet Orleans.LlmRouter.Bench.Proxy.dll --urls http://127.0.0.1:5998 --destination http://127.0.0.1:5999
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddHttpForwarder();
var app = builder.Build();
app.MapForwarder("/{**catch-all}", app.Configuration["destination"] ?? "http://127.0.0.1:5999");
app.Run();
