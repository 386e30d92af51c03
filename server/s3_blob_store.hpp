// The layer cache's shared second level (registry::SharedBlobStore) in an S3 bucket, so that a
// layer one replica pulled is not pulled from the registry again by another:
//
//   <prefix>blobs/sha256/<hex>   the blob's bytes, uploaded only after the local cache verified
//                                them (a multipart upload above the client's part size)
//
// A copy is written whole by one PUT (or one CompleteMultipartUpload), so a key never holds
// part of a blob; the cache verifies every fetch regardless.
#pragma once

#include "registry/shared_blob_store.hpp"

#include <memory>

namespace oci2eif::server {

class S3Client;

std::shared_ptr<registry::SharedBlobStore> open_s3_blob_store(std::shared_ptr<S3Client> s3);

} // namespace oci2eif::server
