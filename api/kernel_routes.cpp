// /v1/kernels: the kernels builds can name. Listing is a read; uploading (multipart) and
// deleting need an admin token.
#include "api/routes.hpp"
#include "core/error.hpp"
#include "core/kernel_cmdline.hpp"
#include "server/disk_space.hpp"

#include <httplib.h>

namespace oci2eif::api {
namespace {

using server::Role;

nlohmann::json kernel_view(const server::KernelInfo& k) {
  nlohmann::json digests = {{k.arch == Arch::Aarch64 ? "Image" : "bzImage", k.kernel_sha256}};
  if (k.config_sha256) {
    digests[k.arch == Arch::Aarch64 ? "Image.config" : "bzImage.config"] = *k.config_sha256;
  }
  if (k.nsm_sha256) {
    digests["nsm.ko"] = *k.nsm_sha256;
  }
  return {{"name", k.name},       {"arch", std::string(arch_name(k.arch))},
          {"source", k.source},   {"default", k.is_default},
          {"cmdline", k.cmdline}, {"digest", k.digest},
          {"digests", digests},   {"links", {{"self", "/v1/kernels/" + k.name}}}};
}

server::KernelInfo kernel_or_404(const ApiContext& ctx, const std::string& name) {
  auto k = ctx.kernels.resolve(name);
  if (!k) {
    throw Error(ErrorCode::NotFound, "no kernel named '" + name + "'");
  }
  return k->info;
}

struct NamedUpload {
  std::string name;
  server::KernelUpload upload;
};

// The multipart/form-data of POST /v1/kernels: name, arch (x86_64 | aarch64, default x86_64),
// cmdline (optional); files kernel (bzImage / Image), config, nsm_ko (optional). InvalidInput
// naming the field for anything missing, unknown or malformed.
NamedUpload parse_kernel_upload(const httplib::Request& req) {
  if (!req.is_multipart_form_data()) {
    throw Error(ErrorCode::InvalidInput,
                "expected multipart/form-data with fields name, kernel (file) and optionally "
                "arch, cmdline, config (file), nsm_ko (file)");
  }
  for (const auto& [field, _] : req.files) {
    if (field != "name" && field != "arch" && field != "cmdline" && field != "kernel" &&
        field != "config" && field != "nsm_ko") {
      throw Error(ErrorCode::InvalidInput, "field '" + field + "': unknown field");
    }
  }
  const auto field = [&](const char* key) -> std::optional<std::string> {
    if (!req.has_file(key)) {
      return std::nullopt;
    }
    return req.get_file_value(key).content;
  };
  const auto name = field("name");
  if (!name) {
    throw Error(ErrorCode::InvalidInput, "field 'name': required");
  }
  NamedUpload out{*name, {}};
  server::KernelUpload& upload = out.upload;
  const std::string arch = field("arch").value_or("x86_64");
  if (arch == "aarch64") {
    upload.arch = Arch::Aarch64;
  } else if (arch != "x86_64") {
    throw Error(ErrorCode::InvalidInput, "field 'arch': '" + arch + "' is not x86_64 or aarch64");
  }
  const auto kernel = field("kernel");
  if (!kernel) {
    throw Error(ErrorCode::InvalidInput, "field 'kernel': required (the bzImage or Image file)");
  }
  upload.kernel = *kernel;
  upload.config = field("config");
  upload.nsm_ko = field("nsm_ko");
  upload.cmdline = field("cmdline");
  if (const auto problem =
          upload.cmdline ? kernel_cmdline_problem(*upload.cmdline) : std::nullopt) {
    throw Error(ErrorCode::InvalidInput, "field 'cmdline': " + *problem);
  }
  return out;
}

void list_kernels(const ApiContext& ctx, httplib::Response& res) {
  nlohmann::json list = nlohmann::json::array();
  ctx.kernels.refresh(); // the same list on every replica (a no-op when embedded)
  for (const auto& k : ctx.kernels.list()) {
    list.push_back(kernel_view(k));
  }
  send_json(res, 200, {{"kernels", list}});
}

void upload_kernel(const ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const NamedUpload u = parse_kernel_upload(req);
  if (ctx.kernels.resolve(u.name)) { // also one another replica published
    send_problem(res, {409, "already_exists",
                       "a kernel named '" + u.name + "' already exists; delete it first"});
    return;
  }
  if (auto low = server::check_free_space(ctx.config.data_dir, ctx.config.min_free_bytes)) {
    throw Error(ErrorCode::NoSpace, "no kernel uploads: " + *low);
  }
  const server::KernelInfo k = ctx.kernels.add(u.name, u.upload);
  res.set_header("Location", "/v1/kernels/" + k.name);
  send_json(res, 201, kernel_view(k));
}

void remove_kernel(const ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches[1];
  switch (ctx.kernels.remove(name)) {
  case server::KernelRemoveResult::NotFound:
    throw Error(ErrorCode::NotFound, "no kernel named '" + name + "'");
  case server::KernelRemoveResult::IsDefault:
    send_problem(
        res, {409, "default_kernel", "'" + name + "' is the default kernel; it cannot be deleted"});
    return;
  case server::KernelRemoveResult::Configured:
    send_problem(res, {409, "configured_kernel",
                       "'" + name + "' comes from the server's configuration; remove it there"});
    return;
  case server::KernelRemoveResult::Removed:
    res.status = 204;
    return;
  }
}

} // namespace

void add_kernel_routes(RouteContext& routes) {
  const ApiContext& ctx = routes.ctx;
  using R = const httplib::Request&;
  using W = httplib::Response&;
  routes.add("GET", "/v1/kernels", "/v1/kernels",
             routes.guarded(Role::Read, [&ctx](R, W s) { list_kernels(ctx, s); }));
  routes.add("GET", "/v1/kernels/{name}", "/v1/kernels/([^/]+)",
             routes.guarded(Role::Read, [&ctx](R q, W s) {
               send_json(s, 200, kernel_view(kernel_or_404(ctx, q.matches[1])));
             }));
  routes.add("POST", "/v1/kernels", "/v1/kernels",
             routes.guarded(
                 Role::Admin, [&ctx](R q, W s) { upload_kernel(ctx, q, s); },
                 ctx.config.max_kernel_upload_bytes));
  routes.add("DELETE", "/v1/kernels/{name}", "/v1/kernels/([^/]+)",
             routes.guarded(Role::Admin, [&ctx](R q, W s) { remove_kernel(ctx, q, s); }));
}

} // namespace oci2eif::api
