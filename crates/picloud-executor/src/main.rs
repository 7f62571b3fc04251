//! The cluster-mode executor binary. Cluster mode is planned: the service
//! crates are ready to be composed with remote implementations of the seams
//! in `picloud-shared`, but this binary does not do that yet.

fn main() {
    eprintln!(
        "picloud-executor {}: cluster mode is not ready yet; run the all-in-one `picloud` binary instead",
        picloud_shared::version::PRODUCT_VERSION
    );
    std::process::exit(2);
}
