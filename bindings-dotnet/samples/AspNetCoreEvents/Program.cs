// The ASP.NET Core integration example of the DurableStreams documentation.
//
//   DurableStreams__BaseUrl=http://127.0.0.1:4437/v1/stream dotnet run
//   curl http://localhost:5000/api/events/my-stream?offset=-1
using DurableStreams;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddControllers();

// --- from the documentation, unchanged ---
// Register as singleton
builder.Services.AddSingleton(new DurableStreamClient(new DurableStreamClientOptions
{
    BaseUrl = builder.Configuration["DurableStreams:BaseUrl"]
}));
// --- end ---

var app = builder.Build();
app.MapControllers();
app.Run();
