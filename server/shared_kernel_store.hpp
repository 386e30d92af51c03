// The scale-out SharedKernels: one row per uploaded bundle in PostgreSQL (the catalog every
// replica lists), its files in the object store under the bundle's digest:
//
//   kernels(name, digest, arch, parts, created_ms)      parts: "kernel,config,nsm.ko,cmdline"
//   <prefix>kernels/<digest hex>/<part>                 written before the row
//
// The row is the publication: written last, with ON CONFLICT DO NOTHING on the name, so two
// replicas uploading one name at the same instant publish one bundle.
#pragma once

#include "server/shared_kernels.hpp"

#include <memory>

namespace oci2eif::server {

class PostgresDatabase;
class S3Client;

std::shared_ptr<SharedKernels> open_shared_kernel_store(std::shared_ptr<PostgresDatabase> db,
                                                        std::shared_ptr<S3Client> s3);

} // namespace oci2eif::server
